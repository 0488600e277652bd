//! `codexport-fuzz TARGET --iterations N --seed S`: runs one target (or `all`) and reports
//! inputs run and crashes; `--replay FILE` runs one saved input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Fuzz codexport's parsers of hostile input (see docs/fuzzing.md).
#[derive(Debug, Parser)]
#[command(
    name = "codexport-fuzz",
    after_help = "Example: codexport-fuzz tar-gz --iterations 1000000 --seed 1\n\
                  Targets: link, revision, frames, tar, tar-gz, tar-xz, zip, layer, all"
)]
struct Args {
    /// The target to run, or `all`.
    target: String,
    /// Mutated inputs to run (the seeds run first, on top of these).
    #[arg(long, default_value_t = 10_000)]
    iterations: u64,
    /// The mutator's seed: one seed gives the same inputs on every machine.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where crashing inputs are written (`TARGET-N.bin`, with the panic in `TARGET-N.txt`).
    #[arg(long, default_value = "target/fuzz-crashes")]
    crashes: PathBuf,
    /// Runs this one saved input instead (a crash then shows its panic and backtrace).
    #[arg(long)]
    replay: Option<PathBuf>,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let targets: Vec<&codexport_fuzz::Target> = if args.target == "all" {
        codexport_fuzz::TARGETS.iter().collect()
    } else {
        let names: Vec<&str> = codexport_fuzz::TARGETS.iter().map(|t| t.name).collect();
        vec![codexport_fuzz::target(&args.target).ok_or_else(|| {
            anyhow::anyhow!(
                "no fuzz target `{}` (known: {}, all)",
                args.target,
                names.join(", ")
            )
        })?]
    };
    if let Some(file) = &args.replay {
        let input = std::fs::read(file)?;
        for target in targets {
            codexport_fuzz::replay(target, &input)?;
            eprintln!("{}: `{}` ran without a panic", target.name, file.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut crashed = false;
    for target in targets {
        let report = codexport_fuzz::fuzz(
            target,
            args.iterations,
            args.seed,
            Some(&args.crashes),
            |n| eprintln!("{}: {n} inputs", target.name),
        )?;
        println!(
            "{}: {} inputs in {:.1} s, {} crashes",
            report.target,
            report.inputs,
            report.elapsed.as_secs_f64(),
            report.crashes.len()
        );
        for crash in &report.crashes {
            crashed = true;
            let saved = crash
                .saved
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            println!(
                "  crash: {saved}\n    {}",
                crash.message.replace('\n', "\n    ")
            );
        }
    }
    Ok(if crashed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
