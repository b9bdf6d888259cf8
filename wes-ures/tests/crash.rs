//! Crash test: a child process puts resources in a loop and is killed with SIGKILL; the
//! store reopens clean, and everything the child reported stored reads back verified.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use wes_core::{ResourceKind, ResourceMeta, ResourceStore};
use wes_ures::{CHUNK_SIZE, DiskStore, content_id};

const CHILD_ENV: &str = "WES_URES_CRASH_CHILD";
/// Puts reported before the kill.
const REPORTED: usize = 6;

/// Resource `i`: between 0 and about 3 chunks, different for every `i`.
fn resource(i: u64) -> Vec<u8> {
    let len = (i as usize * 97_531) % (3 * CHUNK_SIZE + 1000);
    (0..len)
        .map(|j| (j as u64).wrapping_mul(i | 1).wrapping_add(i) as u8)
        .collect()
}

/// The child: put and pin resources until killed (or a bound, should the parent die first),
/// printing each id once its put returned.
fn child(dir: &str) -> ! {
    let store = DiskStore::open(dir).unwrap();
    for i in 0..2_000 {
        let data = resource(i);
        let stat = store
            .put(ResourceKind::File, &ResourceMeta::default(), &mut &data[..])
            .unwrap();
        store.pin(&stat.id).unwrap();
        println!("stored {i} {}", stat.id);
    }
    std::process::exit(0)
}

/// Kills the child if the test fails before it does.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn killed_mid_put_the_store_reopens_with_everything_reported() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut process = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "killed_mid_put_the_store_reopens_with_everything_reported",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut reported = Vec::new();
    let mut lines = BufReader::new(process.0.stdout.take().unwrap()).lines();
    while reported.len() < REPORTED {
        let line = lines
            .next()
            .expect("child exited before reporting enough puts")
            .unwrap();
        if let Some(rest) = line.strip_prefix("stored ") {
            let (i, id) = rest.split_once(' ').unwrap();
            reported.push((i.parse::<u64>().unwrap(), id.to_string()));
        }
    }
    process.0.kill().unwrap(); // SIGKILL, most likely in the middle of the next put
    process.0.wait().unwrap();

    let store = DiskStore::open(dir.path()).unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0,
        "leftovers of the interrupted put are removed on open"
    );
    for (i, id) in &reported {
        let data = resource(*i);
        let id = id.parse().unwrap();
        assert_eq!(content_id(&data), id);
        assert_eq!(store.get(&id).unwrap(), data, "resource {i}");
        assert!(store.stat(&id).unwrap().unwrap().pinned);
    }
    // Whatever the kill interrupted is either complete or invisible; collection removes
    // only unpinned content and orphans, never what was reported.
    for id in store.ids().unwrap() {
        let stat = store.stat(&id).unwrap().unwrap();
        let data = store.get(&id).unwrap();
        assert_eq!(content_id(&data), id);
        assert_eq!(data.len() as u64, stat.size);
    }
    store.collect_garbage().unwrap();
    for (_, id) in &reported {
        assert!(store.has(&id.parse().unwrap()).unwrap());
    }
}
