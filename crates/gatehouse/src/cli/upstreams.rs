//! `gatehouse upstreams test [NAME]`: "test connection" for each upstream
//! (see [`crate::upstream_test`]).

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Config;
use crate::paths::Paths;
use crate::upstream_test::{self, Verdict};

#[derive(Subcommand)]
pub enum UpstreamsCommand {
    /// Test the connection to an upstream, or to each: a paid one with one
    /// free request with its own key; the subscription's by whether it
    /// answers, and whether Claude Code is logged in. Exits 4 when a key is
    /// refused, 5 when an upstream is unreachable, 7 when there is no key
    /// (or no Claude Code login) to test.
    Test {
        /// The upstream's name (default: every upstream, in the config's order).
        name: Option<String>,
    },
}

pub fn run(paths: &Paths, config: &Config, command: UpstreamsCommand) -> anyhow::Result<ExitCode> {
    let UpstreamsCommand::Test { name } = command;
    let names = match name {
        Some(name) => vec![name],
        None => upstream_test::names(config),
    };
    // The first upstream that did not pass decides the exit status.
    let mut failed = None;
    for name in names {
        let tested = upstream_test::test(config, paths, &name)?;
        let line = format!("{} ({}): {}", tested.upstream, tested.kind, tested.message);
        if tested.verdict == Verdict::Ok {
            outln!("OK: {line}");
        } else {
            eprintln!("error: {line}");
            failed = failed.or(Some(tested.verdict));
        }
    }
    Ok(failed.map_or(ExitCode::SUCCESS, |verdict| ExitCode::from(verdict.exit_code())))
}
