//! The parallel import pipeline and its bench.
//!
//! Key design decision: one reader thread splits the file into *chunks* of
//! `batch_rows` records whose decoded text lives in one `String` per chunk
//! (field boundaries as offsets), so decoding allocates per chunk, not per
//! field; worker threads map and validate whole chunks and write each
//! accepted row's JSON directly (no `serde_json::Value` tree); the calling
//! thread puts chunks back in file order by sequence number before handing
//! them to the caller. Channels are bounded (two chunks per worker), so
//! memory stays flat whatever the file size. Each batch ends with the
//! offset and line to resume from, which the caller stores together with
//! the batch's rows, making an interrupted import restartable without
//! duplicates.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use serde::Serialize;

use crate::mapping::{Compiled, Encoding, Fields, Format, Rejection};
use crate::quality::{Quality, QualityReport};
use crate::read::{CsvReader, Reader, encoding_name, open_csv, record_line, resume_point};
use crate::{HubError, Library, Mapping};

/// An accepted row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OkRow {
    pub line: u64,
    /// The row in the standard, as a JSON object (derived fields included).
    pub json: String,
    /// Duplicate-detection key ([`crate::MappedRow::key`]).
    pub key: Option<String>,
    /// The person the row is about ([`crate::MappedRow::subject`]).
    pub subject: Option<String>,
}

/// A quarantined row: where, what it said, and every reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    pub line: u64,
    /// The record's decoded text, re-joined with the file's delimiter
    /// (for an undecodable record: decoded with replacement characters).
    pub raw: String,
    pub reasons: Vec<Rejection>,
}

/// A batch of consecutive records, handed back in file order.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// 0-based position of the batch in the file.
    pub seq: u64,
    pub ok: Vec<OkRow>,
    pub rejected: Vec<RejectedRow>,
    /// Resume point after the batch's last record (see [`crate::Reader::open_at`]).
    pub last_offset: u64,
    /// The physical line the next record starts on.
    pub next_line: u64,
}

/// The outcome of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub rows: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub last_offset: u64,
    pub next_line: u64,
    /// True when the caller stopped the run early.
    pub stopped: bool,
    pub quality: QualityReport,
}

/// Knobs of [`map_file_with`].
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Records per batch (at least 1).
    pub batch_rows: usize,
    /// Resume from this offset (0 = start) …
    pub start_offset: u64,
    /// … where the next record starts on this physical line.
    pub start_line: u64,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            threads: 2,
            batch_rows: 4096,
            start_offset: 0,
            start_line: 0,
        }
    }
}

/// Maps a whole file through `compiled`, on `threads` workers, handing
/// batches of up to `batch_rows` records to `on_batch` in file order.
pub fn map_file(
    path: &Path,
    compiled: &Compiled,
    threads: usize,
    batch_rows: usize,
    mut on_batch: impl FnMut(Batch),
) -> Result<Summary, HubError> {
    let options = PipelineOptions {
        threads,
        batch_rows,
        ..PipelineOptions::default()
    };
    map_file_with(path, compiled, &options, |batch| {
        on_batch(batch);
        ControlFlow::Continue(())
    })
}

/// Compiles `mapping` against the header of the file at `path`.
pub fn compile_for_file(
    path: &Path,
    mapping: &Mapping,
    library: &Library,
) -> Result<Compiled, HubError> {
    let reader = Reader::open(path, &mapping.source)?;
    mapping.compile(library, reader.headers())
}

/// One record or read error inside a chunk.
enum Item {
    Record {
        line: u64,
        first: usize,
    },
    Error {
        line: u64,
        raw: String,
        reason: String,
    },
}

/// Decoded records of one batch: all text in one buffer.
struct Chunk {
    seq: u64,
    text: String,
    /// End offset in `text` of each field.
    ends: Vec<usize>,
    items: Vec<Item>,
    last_offset: u64,
    next_line: u64,
}

/// Field access into a chunk.
struct ChunkRecord<'a> {
    text: &'a str,
    /// Start of field 0, then the end of each field.
    start: usize,
    ends: &'a [usize],
}

impl Fields for ChunkRecord<'_> {
    fn field(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 {
            self.start
        } else {
            self.ends[index - 1]
        };
        Some(&self.text[start..end])
    }
}

impl Chunk {
    fn new(seq: u64, rows: usize, width: usize) -> Self {
        Chunk {
            seq,
            text: String::with_capacity(rows * width * 12),
            ends: Vec::with_capacity(rows * width),
            items: Vec::with_capacity(rows),
            last_offset: 0,
            next_line: 0,
        }
    }

    fn record(&self, first: usize, width: usize) -> ChunkRecord<'_> {
        let start = if first == 0 { 0 } else { self.ends[first - 1] };
        ChunkRecord {
            text: &self.text,
            start,
            ends: &self.ends[first..first + width],
        }
    }

    /// Appends a CSV byte record, decoding it; a bad record becomes an error item.
    fn push_csv(
        &mut self,
        record: &csv::ByteRecord,
        encoding: Encoding,
        width: usize,
        line: u64,
        delimiter: u8,
        scratch: &mut String,
    ) {
        let problem = if record.len() != width {
            Some(format!("expected {width} fields, found {}", record.len()))
        } else {
            let text_len = self.text.len();
            let ends_len = self.ends.len();
            let mut bad = None;
            for (i, bytes) in record.iter().enumerate() {
                if !decode_into(encoding, bytes, &mut self.text, scratch) {
                    bad = Some(format!(
                        "field {} is not valid {}",
                        i + 1,
                        encoding_name(encoding)
                    ));
                    break;
                }
                self.ends.push(self.text.len());
            }
            if bad.is_some() {
                self.text.truncate(text_len);
                self.ends.truncate(ends_len);
            }
            bad
        };
        match problem {
            None => self.items.push(Item::Record {
                line,
                first: self.ends.len() - width,
            }),
            Some(reason) => {
                let fields: Vec<String> = record
                    .iter()
                    .map(|b| match encoding {
                        Encoding::Utf8 => String::from_utf8_lossy(b).into_owned(),
                        Encoding::Gbk => encoding_rs::GBK
                            .decode_without_bom_handling(b)
                            .0
                            .into_owned(),
                        Encoding::Gb18030 => encoding_rs::GB18030
                            .decode_without_bom_handling(b)
                            .0
                            .into_owned(),
                    })
                    .collect();
                let raw = join_fields(fields.iter().map(String::as_str), delimiter);
                self.items.push(Item::Error { line, raw, reason });
            }
        }
    }

    fn push_values(&mut self, values: &[String], line: u64) {
        for v in values {
            self.text.push_str(v);
            self.ends.push(self.text.len());
        }
        self.items.push(Item::Record {
            line,
            first: self.ends.len() - values.len(),
        });
    }
}

/// Decodes `bytes` onto the end of `out`; false when malformed. `scratch`
/// is a small reused buffer: encoding_rs fills a `String`'s whole spare
/// capacity, so decoding straight into the large chunk buffer would touch
/// megabytes per field.
fn decode_into(encoding: Encoding, bytes: &[u8], out: &mut String, scratch: &mut String) -> bool {
    if bytes.is_ascii() {
        // ASCII is the same in all three encodings.
        out.push_str(std::str::from_utf8(bytes).expect("ASCII is UTF-8"));
        return true;
    }
    let codec = match encoding {
        Encoding::Utf8 => {
            return match std::str::from_utf8(bytes) {
                Ok(s) => {
                    out.push_str(s);
                    true
                }
                Err(_) => false,
            };
        }
        Encoding::Gbk => encoding_rs::GBK,
        Encoding::Gb18030 => encoding_rs::GB18030,
    };
    let mut decoder = codec.new_decoder_without_bom_handling();
    let need = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len() * 3);
    scratch.clear();
    if scratch.capacity() < need {
        *scratch = String::with_capacity(need);
    }
    let (result, _read) = decoder.decode_to_string_without_replacement(bytes, scratch, true);
    out.push_str(scratch);
    matches!(result, encoding_rs::DecoderResult::InputEmpty)
}

/// Joins fields into one CSV line: quoted when they hold the delimiter, a
/// quote or a line break.
pub fn join_fields<'a>(fields: impl Iterator<Item = &'a str>, delimiter: u8) -> String {
    let d = delimiter as char;
    let mut out = String::new();
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(d);
        }
        if f.contains([d, '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out
}

/// [`map_file`] with resume and early stop: `on_batch` returns
/// `ControlFlow::Break(())` to stop after that batch.
pub fn map_file_with(
    path: &Path,
    compiled: &Compiled,
    options: &PipelineOptions,
    mut on_batch: impl FnMut(Batch) -> ControlFlow<()>,
) -> Result<Summary, HubError> {
    let threads = options.threads.max(1);
    let batch_rows = options.batch_rows.max(1);
    let source = compiled.source().clone();
    let width = compiled.headers().len();
    let delimiter = if source.format == Format::Csv {
        source
            .delimiter_byte()
            .map_err(|e| HubError::source(path, e))?
    } else {
        b','
    };
    // Open before spawning so that a missing file or header is an error here.
    enum Input {
        Csv(CsvReader),
        Other(Reader),
    }
    let input = if source.format == Format::Csv {
        let (mut reader, headers) = open_csv(path, &source)?;
        check_headers(path, compiled, &headers)?;
        if options.start_offset > 0 {
            let mut pos = csv::Position::new();
            pos.set_byte(options.start_offset)
                .set_line(options.start_line.max(1));
            reader
                .seek_raw(std::io::SeekFrom::Start(options.start_offset), pos)
                .map_err(|e| HubError::source(path, e.to_string()))?;
        }
        Input::Csv(reader)
    } else {
        let reader = Reader::open_at(path, &source, options.start_offset, options.start_line)?;
        check_headers(path, compiled, reader.headers())?;
        Input::Other(reader)
    };

    let stop = AtomicBool::new(false);
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(threads * 2);
    let chunk_rx = Mutex::new(chunk_rx);
    let (batch_tx, batch_rx) = mpsc::sync_channel::<Batch>(threads * 2);

    std::thread::scope(|scope| {
        let stop = &stop;
        scope.spawn(move || {
            let mut seq = 0;
            let mut input = input;
            let mut record = csv::ByteRecord::new();
            let mut scratch = String::with_capacity(256);
            let mut last_offset = options.start_offset;
            let mut next_line = options.start_line;
            loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let mut chunk = Chunk::new(seq, batch_rows, width);
                let mut eof = false;
                while chunk.items.len() < batch_rows {
                    match &mut input {
                        Input::Csv(reader) => {
                            let start_line = reader.position().line();
                            match reader.read_byte_record(&mut record) {
                                Ok(true) => {
                                    let line = record_line(reader, &record, start_line);
                                    chunk.push_csv(
                                        &record,
                                        source.encoding,
                                        width,
                                        line,
                                        delimiter,
                                        &mut scratch,
                                    );
                                }
                                Ok(false) => eof = true,
                                Err(e) => {
                                    chunk.items.push(Item::Error {
                                        line: start_line,
                                        raw: String::new(),
                                        reason: e.to_string(),
                                    });
                                    eof = true;
                                }
                            }
                            (last_offset, next_line) = resume_point(reader);
                        }
                        Input::Other(reader) => match reader.next() {
                            None => eof = true,
                            Some(Ok(rec)) => {
                                chunk.push_values(&rec.values, rec.line);
                                last_offset = rec.offset;
                                next_line = rec.line + 1;
                            }
                            Some(Err(e)) => {
                                chunk.items.push(Item::Error {
                                    line: e.line,
                                    raw: String::new(),
                                    reason: e.reason,
                                });
                                last_offset = e.offset;
                                next_line = e.line + 1;
                            }
                        },
                    }
                    if eof {
                        break;
                    }
                }
                chunk.last_offset = last_offset;
                chunk.next_line = next_line;
                if !chunk.items.is_empty() {
                    if chunk_tx.send(chunk).is_err() {
                        return;
                    }
                    seq += 1;
                }
                if eof {
                    return;
                }
            }
        });

        let mut workers = Vec::new();
        for _ in 0..threads {
            let batch_tx = batch_tx.clone();
            let chunk_rx = &chunk_rx;
            workers.push(scope.spawn(move || {
                let mut quality = Quality::new(compiled.standard());
                loop {
                    let chunk = match chunk_rx.lock().expect("reader lock").recv() {
                        Ok(c) => c,
                        Err(_) => return quality,
                    };
                    let batch = map_chunk(compiled, &chunk, width, delimiter, &mut quality);
                    if batch_tx.send(batch).is_err() {
                        return quality;
                    }
                }
            }));
        }
        drop(batch_tx);

        // Put batches back in file order.
        let mut pending: BTreeMap<u64, Batch> = BTreeMap::new();
        let mut next = 0u64;
        let mut summary = Summary {
            rows: 0,
            accepted: 0,
            rejected: 0,
            last_offset: options.start_offset,
            next_line: options.start_line,
            stopped: false,
            quality: QualityReport::default(),
        };
        for batch in batch_rx.iter() {
            if summary.stopped {
                continue; // drain so the workers and the reader can finish
            }
            pending.insert(batch.seq, batch);
            while let Some(batch) = pending.remove(&next) {
                next += 1;
                summary.accepted += batch.ok.len() as u64;
                summary.rejected += batch.rejected.len() as u64;
                summary.last_offset = batch.last_offset;
                summary.next_line = batch.next_line;
                if on_batch(batch).is_break() {
                    summary.stopped = true;
                    stop.store(true, Ordering::Relaxed);
                    pending.clear();
                    break;
                }
            }
        }
        summary.rows = summary.accepted + summary.rejected;
        let mut quality = Quality::new(compiled.standard());
        for w in workers {
            quality.merge(w.join().expect("worker panicked"));
        }
        summary.quality = quality.report();
        Ok(summary)
    })
}

fn check_headers(path: &Path, compiled: &Compiled, headers: &[String]) -> Result<(), HubError> {
    if headers != compiled.headers() {
        return Err(HubError::source(
            path,
            format!(
                "header {:?} differs from the one the mapping was compiled for",
                headers
            ),
        ));
    }
    Ok(())
}

fn map_chunk(
    compiled: &Compiled,
    chunk: &Chunk,
    width: usize,
    delimiter: u8,
    quality: &mut Quality,
) -> Batch {
    let standard = compiled.standard();
    let mut batch = Batch {
        seq: chunk.seq,
        ok: Vec::with_capacity(chunk.items.len()),
        rejected: Vec::new(),
        last_offset: chunk.last_offset,
        next_line: chunk.next_line,
    };
    for item in &chunk.items {
        match item {
            Item::Record { line, first } => {
                let record = chunk.record(*first, width);
                let (row, reasons) = compiled.map_partial(&record);
                quality.observe(&row, &reasons);
                match reasons.is_empty() {
                    true => {
                        let mut json = String::with_capacity(320);
                        row.write_json(standard, &mut json);
                        batch.ok.push(OkRow {
                            line: *line,
                            json,
                            key: row.key(standard),
                            subject: row.subject(standard),
                        });
                    }
                    false => {
                        let raw = join_fields(
                            (0..width).map(|i| record.field(i).unwrap_or("")),
                            delimiter,
                        );
                        batch.rejected.push(RejectedRow {
                            line: *line,
                            raw,
                            reasons,
                        });
                    }
                }
            }
            Item::Error { line, raw, reason } => {
                let reasons = vec![Rejection {
                    field: "record".to_string(),
                    reason: reason.clone(),
                }];
                quality.observe_rejected(&reasons);
                batch.rejected.push(RejectedRow {
                    line: *line,
                    raw: raw.clone(),
                    reasons,
                });
            }
        }
    }
    batch
}

/// What `cityloop bench hub` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub rows: u64,
    pub file_bytes: u64,
    pub threads: usize,
    /// Rows per second of plainly splitting the file with the csv crate
    /// (no decoding, no mapping): the ceiling for one reader thread.
    pub plain_parse_rows_per_s: f64,
    /// Rows per second through [`map_file`]: GBK decoding, mapping,
    /// validation, coordinate conversion, JSON and quality counts.
    pub mapped_rows_per_s: f64,
    /// Rows per CPU-second of this process during the mapped run (Linux
    /// `/proc/self/stat`; 0 elsewhere): the figure that does not depend on
    /// what else the machine is doing. Rows/s on N free cores ≈ this × N.
    pub mapped_rows_per_cpu_s: f64,
    pub accepted: u64,
    pub rejected: u64,
}

/// Generates a `rows`-row police-format GBK CSV in `dir` (once per row
/// count) and measures plain parsing and the full pipeline on it.
pub fn bench(rows: usize, dir: &Path) -> Result<BenchReport, HubError> {
    std::fs::create_dir_all(dir).map_err(|e| HubError::io(dir, e))?;
    let path = dir.join(format!("hub-bench-{rows}.csv"));
    if !path.exists() {
        let partial = dir.join(format!("hub-bench-{rows}.csv.partial"));
        crate::demo::write_bench_csv(&partial, rows)?;
        std::fs::rename(&partial, &path).map_err(|e| HubError::io(&path, e))?;
    }
    let file_bytes = std::fs::metadata(&path)
        .map_err(|e| HubError::io(&path, e))?
        .len();

    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new()
        .from_path(&path)
        .map_err(|e| HubError::source(&path, e.to_string()))?;
    let mut record = csv::ByteRecord::new();
    let mut plain_rows = 0u64;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| HubError::source(&path, e.to_string()))?
    {
        plain_rows += 1;
    }
    let plain_s = started.elapsed().as_secs_f64();

    let library = Library::bundled()?;
    let mapping = Mapping::parse(
        crate::mapping::bundled("demo-putuo-police-population").expect("bundled mapping"),
    )?;
    let compiled = compile_for_file(&path, &mapping, &library)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let cpu_before = process_cpu_seconds();
    let started = Instant::now();
    let summary = map_file(&path, &compiled, threads, 8192, |batch| {
        std::hint::black_box(batch);
    })?;
    let mapped_s = started.elapsed().as_secs_f64();
    let mapped_cpu_s = process_cpu_seconds() - cpu_before;
    Ok(BenchReport {
        rows: summary.rows,
        file_bytes,
        threads,
        plain_parse_rows_per_s: plain_rows as f64 / plain_s,
        mapped_rows_per_s: summary.rows as f64 / mapped_s,
        mapped_rows_per_cpu_s: if mapped_cpu_s > 0.0 {
            summary.rows as f64 / mapped_cpu_s
        } else {
            0.0
        },
        accepted: summary.accepted,
        rejected: summary.rejected,
    })
}

/// User + system CPU time of this process in seconds, from `/proc/self/stat`
/// (fields 14 and 15, in clock ticks of 1/100 s); 0 where unavailable.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name (field 2) may contain spaces; count fields after it.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After ")", field 3 is at index 0, so fields 14 and 15 are at 11 and 12.
    (ticks(11) + ticks(12)) / 100.0
}
