//! Streaming readers for departments' files: CSV (UTF-8, GBK, GB18030),
//! JSON Lines, JSON arrays and XLSX sheets, all yielding UTF-8
//! [`RawRecord`]s in header order.
//!
//! Key design decisions: a bad record is an *item* ([`ReadError`] with its
//! line), never a panic and never the end of the file, so one mis-encoded
//! line cannot stop an import or vanish. CSV is split on raw bytes and only
//! then decoded field by field, which is safe for GBK/GB18030 because their
//! trail bytes (≥ 0x40) never equal `,`, `"`, CR or LF. Every record carries
//! an `offset` (the byte after it for CSV/JSONL, the record count for XLSX
//! and JSON arrays, which are loaded whole) so an interrupted import resumes
//! with [`Reader::open_at`]. Line numbers are physical, 1-based lines
//! (header = line 1), counting newlines inside quoted fields.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::HubError;
use crate::mapping::{Encoding, Format, RawRecord, Source};

/// A record that could not be read; reading continues after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub line: u64,
    /// Resume point just after the bad record.
    pub offset: u64,
    pub reason: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Decodes one field; `None` when the bytes are not valid in `encoding`.
pub(crate) fn decode(encoding: Encoding, bytes: &[u8]) -> Option<Cow<'_, str>> {
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        Encoding::Gbk => {
            encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(bytes)
        }
        Encoding::Gb18030 => {
            encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes)
        }
    }
}

pub(crate) fn encoding_name(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Utf8 => "UTF-8",
        Encoding::Gbk => "GBK",
        Encoding::Gb18030 => "GB18030",
    }
}

/// A pass-through reader keeping the bytes the csv reader has pulled but not
/// yet finished with. The csv crate counts a CRLF's `\n` and skipped blank
/// lines towards the *next* record's position, so its line numbers drift on
/// Windows files; looking at the raw bytes at a record's start fixes that.
#[derive(Debug)]
pub(crate) struct Tap<R> {
    inner: R,
    window: Vec<u8>,
    /// File offset of `window[0]`.
    base: u64,
}

/// Bytes kept behind the current record before the window is compacted.
const TAP_KEEP_BYTES: u64 = 1 << 20;

impl<R> Tap<R> {
    fn new(inner: R) -> Self {
        Tap {
            inner,
            window: Vec::new(),
            base: 0,
        }
    }

    /// The run of CR/LF bytes at `offset` (as far as it has been read):
    /// (number of LFs in it, its length in bytes).
    pub(crate) fn line_breaks_at(&self, offset: u64) -> (u64, u64) {
        let Some(start) = offset.checked_sub(self.base) else {
            return (0, 0);
        };
        let run = self.window.get(start as usize..).unwrap_or_default();
        let len = run
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let newlines = run[..len].iter().filter(|b| **b == b'\n').count();
        (newlines as u64, len as u64)
    }

    /// Drops bytes before `offset` once enough have piled up.
    pub(crate) fn forget_before(&mut self, offset: u64) {
        let stale = offset.saturating_sub(self.base);
        if stale > TAP_KEEP_BYTES && stale as usize <= self.window.len() {
            self.window.drain(..stale as usize);
            self.base = offset;
        }
    }
}

impl<R: std::io::Read> std::io::Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.window.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl<R: Seek> Seek for Tap<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let at = self.inner.seek(pos)?;
        self.window.clear();
        self.base = at;
        Ok(at)
    }
}

pub(crate) type CsvReader = csv::Reader<Tap<File>>;

/// The physical line a record read by `reader` starts on.
pub(crate) fn record_line(reader: &CsvReader, record: &csv::ByteRecord, fallback: u64) -> u64 {
    match record.position() {
        Some(p) => p.line() + reader.get_ref().line_breaks_at(p.byte()).0,
        None => fallback,
    }
}

/// Where to resume after the record just read: (byte offset, line), past
/// its terminator and any blank lines already read.
pub(crate) fn resume_point(reader: &mut CsvReader) -> (u64, u64) {
    let pos = reader.position().clone();
    let (newlines, len) = reader.get_ref().line_breaks_at(pos.byte());
    reader.get_mut().forget_before(pos.byte());
    (pos.byte() + len, pos.line() + newlines)
}

/// Opens a CSV and reads up to and including its header row.
pub(crate) fn open_csv(path: &Path, source: &Source) -> Result<(CsvReader, Vec<String>), HubError> {
    let delimiter = source
        .delimiter_byte()
        .map_err(|e| HubError::source(path, e))?;
    let file = File::open(path).map_err(|e| HubError::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(Tap::new(file));
    let mut record = csv::ByteRecord::new();
    for _ in 0..source.header_row.max(1) {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| HubError::source(path, format!("reading the header: {e}")))?;
        if !more {
            return Err(HubError::source(
                path,
                format!("no header row {}", source.header_row),
            ));
        }
    }
    let mut headers = Vec::with_capacity(record.len());
    for (i, bytes) in record.iter().enumerate() {
        let bytes = if i == 0 {
            bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
        } else {
            bytes
        };
        let text = decode(source.encoding, bytes).ok_or_else(|| {
            HubError::source(
                path,
                format!("header is not valid {}", encoding_name(source.encoding)),
            )
        })?;
        headers.push(text.trim().to_string());
    }
    Ok((reader, headers))
}

enum Inner {
    Csv {
        reader: CsvReader,
        record: csv::ByteRecord,
        encoding: Encoding,
    },
    /// XLSX and JSON arrays: (line, values or error) loaded whole.
    Rows {
        rows: std::vec::IntoIter<(u64, Result<Vec<String>, String>)>,
        index: u64,
    },
    Jsonl {
        reader: BufReader<File>,
        buf: Vec<u8>,
        line: u64,
        offset: u64,
    },
}

/// A streaming reader over one department file.
pub struct Reader {
    path: PathBuf,
    headers: Vec<String>,
    inner: Inner,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.path)
            .field("headers", &self.headers)
            .finish()
    }
}

impl Reader {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path, source: &Source) -> Result<Reader, HubError> {
        Self::open_at(path, source, 0, 0)
    }

    /// Opens `path` and continues after a record whose `offset` was given
    /// (0 = from the start). `next_line` is the physical line the next
    /// record starts on (CSV/JSONL; ignored for XLSX/JSON, whose records
    /// carry their own row numbers).
    pub fn open_at(
        path: &Path,
        source: &Source,
        offset: u64,
        next_line: u64,
    ) -> Result<Reader, HubError> {
        let (headers, inner) = match source.format {
            Format::Csv => {
                let (mut reader, headers) = open_csv(path, source)?;
                if offset > 0 {
                    let mut pos = csv::Position::new();
                    pos.set_byte(offset).set_line(next_line.max(1));
                    reader
                        .seek_raw(SeekFrom::Start(offset), pos)
                        .map_err(|e| HubError::source(path, e.to_string()))?;
                }
                (
                    headers,
                    Inner::Csv {
                        reader,
                        record: csv::ByteRecord::new(),
                        encoding: source.encoding,
                    },
                )
            }
            Format::Xlsx => {
                let (headers, rows) = read_xlsx(path, source)?;
                let mut rows = rows.into_iter();
                for _ in 0..offset {
                    rows.next();
                }
                (
                    headers,
                    Inner::Rows {
                        rows,
                        index: offset,
                    },
                )
            }
            Format::Json => {
                let (headers, rows) = read_json_array(path)?;
                let mut rows = rows.into_iter();
                for _ in 0..offset {
                    rows.next();
                }
                (
                    headers,
                    Inner::Rows {
                        rows,
                        index: offset,
                    },
                )
            }
            Format::Jsonl => {
                let file = File::open(path).map_err(|e| HubError::io(path, e))?;
                let mut reader = BufReader::new(file);
                let headers = jsonl_headers(path, &mut reader)?;
                reader
                    .seek(SeekFrom::Start(offset))
                    .map_err(|e| HubError::io(path, e))?;
                let line = if offset == 0 { 1 } else { next_line.max(1) };
                (
                    headers,
                    Inner::Jsonl {
                        reader,
                        buf: Vec::new(),
                        line,
                        offset,
                    },
                )
            }
        };
        Ok(Reader {
            path: path.to_path_buf(),
            headers,
            inner,
        })
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Iterator for Reader {
    type Item = Result<RawRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let width = self.headers.len();
        match &mut self.inner {
            Inner::Csv {
                reader,
                record,
                encoding,
            } => {
                let start_line = reader.position().line();
                match reader.read_byte_record(record) {
                    Ok(false) => None,
                    Err(e) => {
                        // csv only fails on IO; report it once and stop.
                        let line = start_line;
                        let offset = reader.position().byte();
                        self.inner = Inner::Rows {
                            rows: Vec::new().into_iter(),
                            index: 0,
                        };
                        Some(Err(ReadError {
                            line,
                            offset,
                            reason: e.to_string(),
                        }))
                    }
                    Ok(true) => {
                        let line = record_line(reader, record, start_line);
                        let (offset, _) = resume_point(reader);
                        Some(
                            csv_values(record, *encoding, width)
                                .map(|values| RawRecord {
                                    line,
                                    offset,
                                    values,
                                })
                                .map_err(|reason| ReadError {
                                    line,
                                    offset,
                                    reason,
                                }),
                        )
                    }
                }
            }
            Inner::Rows { rows, index } => {
                let (line, row) = rows.next()?;
                *index += 1;
                let offset = *index;
                Some(match row {
                    Ok(values) => Ok(RawRecord {
                        line,
                        offset,
                        values,
                    }),
                    Err(reason) => Err(ReadError {
                        line,
                        offset,
                        reason,
                    }),
                })
            }
            Inner::Jsonl {
                reader,
                buf,
                line,
                offset,
            } => loop {
                buf.clear();
                let n = match reader.read_until(b'\n', buf) {
                    Ok(0) => return None,
                    Ok(n) => n as u64,
                    Err(e) => {
                        return Some(Err(ReadError {
                            line: *line,
                            offset: *offset,
                            reason: e.to_string(),
                        }));
                    }
                };
                let this_line = *line;
                *line += 1;
                *offset += n;
                let text = buf.trim_ascii();
                if text.is_empty() {
                    continue;
                }
                let item = jsonl_values(text, &self.headers)
                    .map(|values| RawRecord {
                        line: this_line,
                        offset: *offset,
                        values,
                    })
                    .map_err(|reason| ReadError {
                        line: this_line,
                        offset: *offset,
                        reason,
                    });
                return Some(item);
            },
        }
    }
}

/// Decodes a CSV byte record into owned values, checking its width.
pub(crate) fn csv_values(
    record: &csv::ByteRecord,
    encoding: Encoding,
    width: usize,
) -> Result<Vec<String>, String> {
    if record.len() != width {
        return Err(format!("expected {width} fields, found {}", record.len()));
    }
    let mut values = Vec::with_capacity(width);
    for (i, bytes) in record.iter().enumerate() {
        match decode(encoding, bytes) {
            Some(text) => values.push(text.into_owned()),
            None => {
                return Err(format!(
                    "field {} is not valid {}",
                    i + 1,
                    encoding_name(encoding)
                ));
            }
        }
    }
    Ok(values)
}

fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn jsonl_values(text: &[u8], headers: &[String]) -> Result<Vec<String>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err("not a JSON object".to_string());
    };
    Ok(headers
        .iter()
        .map(|h| map.get(h).map(json_text).unwrap_or_default())
        .collect())
}

/// JSONL keys are those of the first object; later keys not in it are not
/// read (a mapping cannot name them anyway), missing keys read as empty.
fn jsonl_headers(path: &Path, reader: &mut BufReader<File>) -> Result<Vec<String>, HubError> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| HubError::io(path, e))?
            == 0
        {
            return Err(HubError::source(path, "no JSON object in the file"));
        }
        let text = buf.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_slice(text)
            .map_err(|e| HubError::source(path, format!("first line is not JSON: {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(HubError::source(path, "first line is not a JSON object"));
        };
        return Ok(map.keys().cloned().collect());
    }
}

type Rows = Vec<(u64, Result<Vec<String>, String>)>;

fn read_json_array(path: &Path) -> Result<(Vec<String>, Rows), HubError> {
    let file = File::open(path).map_err(|e| HubError::io(path, e))?;
    let value: serde_json::Value = serde_json::from_reader(BufReader::new(file))
        .map_err(|e| HubError::source(path, format!("not JSON: {e}")))?;
    let serde_json::Value::Array(items) = value else {
        return Err(HubError::source(path, "not a JSON array"));
    };
    let mut headers: Vec<String> = Vec::new();
    for item in &items {
        if let serde_json::Value::Object(map) = item {
            for key in map.keys() {
                if !headers.contains(key) {
                    headers.push(key.clone());
                }
            }
        }
    }
    let rows = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let row = match item {
                serde_json::Value::Object(map) => Ok(headers
                    .iter()
                    .map(|h| map.get(h).map(json_text).unwrap_or_default())
                    .collect()),
                _ => Err("not a JSON object".to_string()),
            };
            (i as u64 + 1, row)
        })
        .collect();
    Ok((headers, rows))
}

/// Renders a cell as the text a department would see in Excel: whole
/// numbers without `.0` (phone numbers and serial dates are often numeric
/// cells), date cells as ISO `YYYY-MM-DD[THH:MM:SS]`.
fn cell_text(cell: &calamine::Data) -> Result<String, String> {
    use calamine::Data;
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            let serial = dt.as_f64();
            let parsed = crate::check::excel_serial(&serial.to_string())?;
            if serial.fract() == 0.0 {
                parsed.format("%Y-%m-%d").to_string()
            } else {
                parsed.format("%Y-%m-%dT%H:%M:%S").to_string()
            }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(format!("cell holds the Excel error {e:?}")),
    })
}

fn read_xlsx(path: &Path, source: &Source) -> Result<(Vec<String>, Rows), HubError> {
    use calamine::Reader as _;
    let mut workbook: calamine::Xlsx<_> = calamine::open_workbook(path)
        .map_err(|e: calamine::XlsxError| HubError::source(path, e.to_string()))?;
    let sheet = match &source.sheet {
        Some(s) => s.clone(),
        None => workbook
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| HubError::source(path, "the workbook has no sheet"))?,
    };
    let range = workbook
        .worksheet_range(&sheet)
        .map_err(|e| HubError::source(path, format!("sheet '{sheet}': {e}")))?;
    let first_row = range.start().map_or(0, |(r, _)| r) as u64 + 1;
    let first_col = range.start().map_or(0, |(_, c)| c) as usize;
    let header_row = u64::from(source.header_row.max(1));
    if header_row < first_row {
        return Err(HubError::source(
            path,
            format!("sheet '{sheet}': row {header_row} is empty"),
        ));
    }
    let mut headers = None;
    let mut rows = Vec::new();
    for (i, cells) in range.rows().enumerate() {
        let line = first_row + i as u64;
        // Cells left of the used range are empty; keep column positions.
        let texts: Result<Vec<String>, String> = std::iter::repeat_n(Ok(String::new()), first_col)
            .chain(cells.iter().map(cell_text))
            .collect();
        if line < header_row {
            continue;
        }
        if line == header_row {
            let texts = texts.map_err(|e| HubError::source(path, format!("header row: {e}")))?;
            headers = Some(
                texts
                    .into_iter()
                    .map(|t| t.trim().to_string())
                    .collect::<Vec<_>>(),
            );
            continue;
        }
        if let Ok(t) = &texts
            && t.iter().all(|v| v.trim().is_empty())
        {
            continue;
        }
        rows.push((line, texts));
    }
    let headers = headers.ok_or_else(|| {
        HubError::source(path, format!("sheet '{sheet}' has no row {header_row}"))
    })?;
    Ok((headers, rows))
}
