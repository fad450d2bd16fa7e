//! Speed figures for the log: leaf hashes appended per second, and the cost
//! of tree hashes and proofs read from a 1,000,000-leaf `MemoryTiles`.
//!
//! Run with `cargo run --release -p cityloop-tlog --example tlog_speed`.

use std::time::{Duration, Instant};

use cityloop_tlog::{
    Appender, Checkpoint, Error, Hash, MemoryTiles, NoteSigner, TileReader, consistency_proof,
    inclusion_proof, leaf_hash, tree_hash, verify_consistency, verify_inclusion,
};

const LEAVES: u64 = 1_000_000;
const SAMPLES: usize = 10_000;

/// A small deterministic generator for sample indices (xorshift64*).
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

fn per_op(total: Duration, count: usize) -> String {
    format!("{:.1} µs", total.as_secs_f64() * 1e6 / count as f64)
}

fn percentile(times: &mut [Duration], p: f64) -> String {
    times.sort();
    let at = ((times.len() as f64 - 1.0) * p) as usize;
    format!("{:.1} µs", times[at].as_secs_f64() * 1e6)
}

/// A reader that serves tile rows only (like a store that keeps nothing
/// but the tiles), so proofs hash within tiles themselves.
struct RowsOnly<'a>(&'a MemoryTiles);

impl TileReader for RowsOnly<'_> {
    fn read_tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<Hash>, Error> {
        self.0.read_tile(level, index, width)
    }
}

fn main() {
    let leaves: Vec<_> = (0..LEAVES).map(|i| leaf_hash(&i.to_be_bytes())).collect();

    // Appending alone (leaf hashing excluded).
    let mut appender = Appender::empty();
    let start = Instant::now();
    for leaf in &leaves {
        appender.push(*leaf);
    }
    let push = start.elapsed();
    println!(
        "push:            {:>12.0} leaves/s ({} leaves in {:.1} ms)",
        LEAVES as f64 / push.as_secs_f64(),
        LEAVES,
        push.as_secs_f64() * 1e3
    );

    // Appending in batches of 1,000 and storing the dirty tiles each time.
    let mut appender = Appender::empty();
    let mut tiles = MemoryTiles::new();
    let start = Instant::now();
    for batch in leaves.chunks(1000) {
        for leaf in batch {
            appender.push(*leaf);
        }
        for (id, hashes) in appender.take_dirty() {
            tiles.store(id, hashes);
        }
    }
    let batched = start.elapsed();
    println!(
        "push+store:      {:>12.0} leaves/s (batches of 1000, take_dirty into MemoryTiles)",
        LEAVES as f64 / batched.as_secs_f64()
    );
    let root = appender.root();

    let start = Instant::now();
    let rounds = 1000;
    for _ in 0..rounds {
        assert_eq!(tree_hash(LEAVES, &tiles).unwrap(), root);
    }
    println!("tree_hash(1M):   {}", per_op(start.elapsed(), rounds));

    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let indices: Vec<u64> = (0..SAMPLES).map(|_| next(&mut state) % LEAVES).collect();
    let mut times = Vec::with_capacity(SAMPLES);
    let mut proofs = Vec::with_capacity(SAMPLES);
    for &index in &indices {
        let start = Instant::now();
        let proof = inclusion_proof(index, LEAVES, &tiles).unwrap();
        times.push(start.elapsed());
        proofs.push(proof);
    }
    let total: Duration = times.iter().sum();
    println!(
        "inclusion_proof: {} mean, {} p50, {} p99 (1M leaves, {SAMPLES} random indices)",
        per_op(total, SAMPLES),
        percentile(&mut times, 0.5),
        percentile(&mut times, 0.99)
    );

    let rows = RowsOnly(&tiles);
    let mut times = Vec::with_capacity(SAMPLES);
    for (&index, proof) in indices.iter().zip(&proofs) {
        let start = Instant::now();
        let again = inclusion_proof(index, LEAVES, &rows).unwrap();
        times.push(start.elapsed());
        assert_eq!(&again, proof);
    }
    let total: Duration = times.iter().sum();
    println!(
        "inclusion_proof: {} mean, {} p99 from tile rows only (no read_node)",
        per_op(total, SAMPLES),
        percentile(&mut times, 0.99)
    );

    let start = Instant::now();
    for (index, proof) in indices.iter().zip(&proofs) {
        verify_inclusion(&leaves[*index as usize], *index, LEAVES, proof, &root).unwrap();
    }
    println!("verify_inclusion: {}", per_op(start.elapsed(), SAMPLES));

    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let old = 1 + next(&mut state) % (LEAVES - 1);
        let start = Instant::now();
        let proof = consistency_proof(old, LEAVES, &tiles).unwrap();
        times.push(start.elapsed());
        let old_root = tree_hash(old, &tiles).unwrap();
        verify_consistency(old, LEAVES, &old_root, &root, &proof).unwrap();
    }
    let total: Duration = times.iter().sum();
    println!(
        "consistency_proof: {} mean, {} p99 (random old size to 1M)",
        per_op(total, SAMPLES),
        percentile(&mut times, 0.99)
    );

    let signer = NoteSigner::generate("cityloop.example/log");
    let verifier = signer.verifier();
    let text = Checkpoint {
        origin: "cityloop.example/log".into(),
        size: LEAVES,
        root,
        extensions: vec![],
    }
    .to_text();
    let start = Instant::now();
    let notes: Vec<String> = (0..1000).map(|_| signer.sign(&text).unwrap()).collect();
    let sign = start.elapsed();
    let start = Instant::now();
    for note in &notes {
        verifier.verify(note).unwrap();
    }
    println!(
        "checkpoint note: sign {}, verify {}",
        per_op(sign, 1000),
        per_op(start.elapsed(), 1000)
    );
}
