//! `mock-anthropic --port P [--fast]`: the mock Anthropic API as a process,
//! for benchmarks and manual runs. It serves the default scenario until it
//! is killed, and prints `listening on 127.0.0.1:P` once it accepts
//! connections, so a harness can wait for that line instead of polling.

use anyhow::{Context, bail};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, MockOptions};

const USAGE: &str = "usage: mock-anthropic --port P [--fast]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            // A usage mistake gets a message and exit 2, not a backtrace.
            eprintln!("mock-anthropic: {error:#}");
            std::process::exit(2);
        }
    };
    let mock =
        MockAnthropic::start_with(options).await.with_context(|| format!("binding 127.0.0.1:{}", options.port))?;
    // println! flushes at the newline, so the harness sees the line now.
    println!("listening on {}", mock.addr());
    tokio::signal::ctrl_c().await?;
    Ok(())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<MockOptions> {
    let mut port = None;
    let mut fast = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().context(USAGE)?;
                port = Some(value.parse().with_context(|| format!("bad port {value:?}"))?);
            }
            "--fast" => fast = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(MockOptions { port: port.context(USAGE)?, fast })
}
