//! `mock-anthropic --port P [--fast] [--five-hour START,STEP]`: the mock
//! Anthropic API as a process, for benchmarks and manual runs. It serves the
//! default scenario until it is killed, and prints `listening on
//! 127.0.0.1:P` once it accepts connections, so a harness can wait for that
//! line instead of polling. `--five-hour 0.7,0.06` moves the 5-hour window:
//! the first subscription response reports 70%, each next one 6 points more.

use anyhow::{Context, bail};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, MockOptions};

const USAGE: &str = "usage: mock-anthropic --port P [--fast] [--five-hour START,STEP]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (options, five_hour) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(error) => {
            // A usage mistake gets a message and exit 2, not a backtrace.
            eprintln!("mock-anthropic: {error:#}");
            std::process::exit(2);
        }
    };
    let mock =
        MockAnthropic::start_with(options).await.with_context(|| format!("binding 127.0.0.1:{}", options.port))?;
    if let Some((start, step)) = five_hour {
        mock.set_five_hour(start, step);
    }
    // println! flushes at the newline, so the harness sees the line now.
    println!("listening on {}", mock.addr());
    tokio::signal::ctrl_c().await?;
    Ok(())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<(MockOptions, Option<(f64, f64)>)> {
    let mut port = None;
    let mut fast = false;
    let mut five_hour = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().context(USAGE)?;
                port = Some(value.parse().with_context(|| format!("bad port {value:?}"))?);
            }
            "--fast" => fast = true,
            "--five-hour" => {
                let value = args.next().context(USAGE)?;
                let parsed =
                    value.split_once(',').and_then(|(start, step)| Some((start.parse().ok()?, step.parse().ok()?)));
                five_hour = Some(
                    parsed.with_context(|| format!("bad --five-hour {value:?}: use START,STEP such as 0.7,0.06"))?,
                );
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok((MockOptions { port: port.context(USAGE)?, fast }, five_hour))
}
