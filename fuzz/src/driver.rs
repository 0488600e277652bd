//! The run loop: seeds first, then mutated inputs, each under `catch_unwind`; a panic is a
//! crash, saved to a file with its message so it can be replayed.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::mutate::Mutator;
use crate::targets::{Target, Workspace};

/// How many recent inputs are kept to mutate further (depth without coverage feedback).
const POOL: usize = 64;

/// Distinct crashes (by panic message) reported before a run stops collecting.
const MAX_CRASHES: usize = 16;

/// One input that panicked.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The panic's message and location.
    pub message: String,
    /// The input.
    pub input: Vec<u8>,
    /// Where the input was written, when a crash directory was given.
    pub saved: Option<PathBuf>,
}

/// What one run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target's name.
    pub target: &'static str,
    /// Inputs run, seeds included.
    pub inputs: u64,
    /// Distinct crashes, first input of each.
    pub crashes: Vec<Crash>,
    /// Wall time.
    pub elapsed: Duration,
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `target` on its seeds, then on `iterations` mutated inputs from `seed`; crashes are
/// written to `crash_dir` (as `TARGET-N.bin`) when given. `progress` is called every 10,000
/// inputs with the count so far.
pub fn fuzz(
    target: &Target,
    iterations: u64,
    seed: u64,
    crash_dir: Option<&Path>,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let seeds = (target.seeds)();
    let mut work = Workspace::new()?;
    let mut mutator = Mutator::new(seed, &seeds, target.dict);
    let mut pool: Vec<Vec<u8>> = Vec::with_capacity(POOL);
    let mut crashes: Vec<Crash> = Vec::new();
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        LAST_PANIC.with(|last| *last.borrow_mut() = Some(info.to_string()));
    }));
    let mut inputs = 0u64;
    let total = seeds.len() as u64 + iterations;
    while inputs < total {
        let input = match seeds.get(inputs as usize) {
            Some(s) => s.clone(),
            None => {
                let base = if !pool.is_empty() && mutator.rng.one_in(3) {
                    mutator.rng.pick(&pool).clone()
                } else {
                    mutator.rng.pick(&seeds).clone()
                };
                mutator.mutate(&base)
            }
        };
        inputs += 1;
        if let Some(message) = run_one(target, &mut work, &input)
            && crashes.len() < MAX_CRASHES
            && !crashes.iter().any(|c| c.message == message)
        {
            let saved = match crash_dir {
                Some(dir) => Some(save(dir, target.name, crashes.len(), &input, &message)?),
                None => None,
            };
            crashes.push(Crash {
                message,
                input: input.clone(),
                saved,
            });
        }
        if pool.len() < POOL {
            pool.push(input);
        } else {
            let at = mutator.rng.below(POOL);
            pool[at] = input;
        }
        if inputs.is_multiple_of(10_000) {
            progress(inputs);
        }
    }
    panic::set_hook(previous);
    Ok(Report {
        target: target.name,
        inputs,
        crashes,
        elapsed: started.elapsed(),
    })
}

/// Runs one input; the panic message when it panicked.
fn run_one(target: &Target, work: &mut Workspace, input: &[u8]) -> Option<String> {
    LAST_PANIC.with(|last| last.borrow_mut().take());
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(work, input)));
    work.reset();
    match outcome {
        Ok(()) => None,
        Err(_) => Some(
            LAST_PANIC
                .with(|last| last.borrow_mut().take())
                .unwrap_or_else(|| "panicked without a message".to_owned()),
        ),
    }
}

/// Runs one saved input with the default panic hook, so a crash shows its backtrace.
pub fn replay(target: &Target, input: &[u8]) -> anyhow::Result<()> {
    let mut work = Workspace::new()?;
    (target.run)(&mut work, input);
    Ok(())
}

fn save(
    dir: &Path,
    target: &str,
    n: usize,
    input: &[u8],
    message: &str,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{target}-{n}.bin"));
    std::fs::write(&path, input)?;
    std::fs::write(path.with_extension("txt"), message)?;
    Ok(path)
}
