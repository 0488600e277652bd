//! A test fixture that breaks the host's rules on purpose, chosen by the entry's name: the
//! host's tests check each misdeed is stopped within its limits and reported by name.
//!
//! `trap` panics, `loop` never returns, `alloc` grows memory without end, `escape` plans a
//! download outside the artifact directory, `launch-escape` launches a program outside it,
//! `absolute` writes to an absolute path. Any other name is "not mine".

use codexport_resolver_sdk::{
    ArchiveKind, Entry, Facts, Launch, Mode, Platform, Resolution, ResolveError, Resolver, Spec,
    Step, export_resolver,
};

#[derive(Default)]
struct Misbehave;

fn misbehave(what: &str) {
    match what {
        "trap" => panic!("asked to trap"),
        "loop" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "alloc" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        _ => {}
    }
}

impl Resolver for Misbehave {
    fn priority(&self) -> i32 {
        // Runs before every other plugin, so a fallback past it is observable.
        100
    }

    fn infer(&self, entry: &Entry, _facts: &Facts) -> Option<Spec> {
        misbehave(&entry.name);
        matches!(entry.name.as_str(), "escape" | "launch-escape" | "absolute")
            .then(|| Spec::new(&entry.name))
    }

    fn resolve(
        &self,
        entry: &Entry,
        _spec: &Spec,
        _platform: &Platform,
        _mode: Mode,
    ) -> Result<Resolution, ResolveError> {
        misbehave(&entry.name);
        let download = |dest: &str| Step::Download {
            url: "http://127.0.0.1:9/x".into(),
            sha256: None,
            archive: ArchiveKind::Raw,
            strip: 0,
            dest: dest.into(),
        };
        let (steps, program) = match entry.name.as_str() {
            "escape" => (vec![download("bin/../../../outside")], "${artifact}/bin/x"),
            "launch-escape" => (vec![download("bin/x")], "${artifact}/../other/x"),
            "absolute" => (vec![download("/tmp/x")], "${artifact}/bin/x"),
            other => {
                return Err(ResolveError::NotApplicable(format!(
                    "`{other}` is not mine"
                )));
            }
        };
        Ok(Resolution {
            version: "0".into(),
            cache_key: entry.name.clone(),
            steps,
            launch: Launch::program(program),
        })
    }
}

export_resolver!(Misbehave);
