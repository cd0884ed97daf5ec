//! IDX parsing (the MNIST file format), plain or gzipped, that never allocates more than the input holds.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::{DataError, Result};

/// The only element type read: unsigned bytes, which is what MNIST-style files hold.
pub const TYPE_U8: u8 = 0x08;

/// Upper bound on a payload, in bytes: 256 TiB, far beyond any real file, far below `u64::MAX`.
///
/// Claims above it are refused outright; claims below it are still checked against the
/// bytes actually present before anything is allocated.
pub const MAX_PAYLOAD: u64 = 1 << 48;

/// The largest ratio deflate can achieve, used to bound how much to reserve for gzip input.
const DEFLATE_MAX_RATIO: u64 = 1032;

/// How much to reserve when nothing is known about the input's size.
const BLIND_RESERVE: u64 = 1 << 20;

/// The two bytes every gzip member starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An IDX array of unsigned bytes: its dimensions and its payload in row-major order.
///
/// The payload length always equals the product of the dimensions, and no dimension is zero.
#[derive(Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first (for images: count, rows, cols).
    pub dims: Vec<usize>,
    /// Unsigned-byte payload, row-major, exactly `dims.iter().product()` bytes.
    pub data: Vec<u8>,
}

impl fmt::Debug for IdxArray {
    // A derived Debug would print millions of bytes in a failed assertion.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdxArray")
            .field("dims", &self.dims)
            .field("data.len()", &self.data.len())
            .finish()
    }
}

/// Reads an IDX file, gunzipping it if its content starts with the gzip magic.
///
/// The content decides, not the name, so a gzip file without the `.gz` suffix still loads.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let io_err = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    read_idx_from(file, Some(len), path)
}

/// Parses IDX bytes already in memory; `path` is used only in error messages.
pub fn parse_idx(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    read_idx_from(bytes, Some(bytes.len() as u64), path)
}

/// Reads an IDX array from any reader, plain or gzipped.
///
/// `input_len` is the number of raw bytes the reader will yield, if known: it lets a plain
/// input be checked against its header before any allocation, and bounds what gzip input
/// may reserve. Without it, the payload buffer grows only as bytes actually arrive.
/// `path` is used only in error messages.
pub fn read_idx_from<R: Read>(
    mut reader: R,
    input_len: Option<u64>,
    path: &Path,
) -> Result<IdxArray> {
    let mut head = [0u8; 2];
    let n = read_full(&mut reader, &mut head).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let rest = (&head[..n]).chain(reader);
    if head[..n] == GZIP_MAGIC {
        let reserve_bound =
            input_len.map_or(BLIND_RESERVE, |len| len.saturating_mul(DEFLATE_MAX_RATIO));
        parse_stream(
            MultiGzDecoder::new(rest),
            Input::Gzip { reserve_bound },
            path,
        )
    } else {
        parse_stream(rest, Input::Plain { len: input_len }, path)
    }
}

/// What is known about the bytes the IDX stream comes from.
#[derive(Clone, Copy)]
enum Input {
    /// Uncompressed; `len` is the total length if known.
    Plain { len: Option<u64> },
    /// Decompressed on the fly; never reserve more than `reserve_bound` up front.
    Gzip { reserve_bound: u64 },
}

impl Input {
    fn error(self, path: &Path, source: io::Error) -> DataError {
        let path = path.to_path_buf();
        let decoder_complaint = matches!(
            source.kind(),
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
        );
        match self {
            Input::Gzip { .. } if decoder_complaint => DataError::CorruptGzip { path, source },
            _ => DataError::Io { path, source },
        }
    }
}

/// Parses the (decompressed) IDX stream: header, then exactly the payload it claims.
fn parse_stream<R: Read>(mut reader: R, input: Input, path: &Path) -> Result<IdxArray> {
    let err = |source| input.error(path, source);
    let mut magic = [0u8; 4];
    let n = read_full(&mut reader, &mut magic).map_err(err)?;
    if n < magic.len() {
        return Err(DataError::TruncatedHeader {
            path: path.to_path_buf(),
            expected: magic.len() as u64,
            actual: n as u64,
        });
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            found: magic,
        });
    }
    if magic[2] != TYPE_U8 {
        return Err(DataError::UnsupportedType {
            path: path.to_path_buf(),
            code: magic[2],
        });
    }
    let rank = usize::from(magic[3]);
    if rank == 0 {
        return Err(DataError::ZeroRank {
            path: path.to_path_buf(),
        });
    }

    let mut dim_bytes = [0u8; 4 * 255];
    let dim_bytes = &mut dim_bytes[..4 * rank];
    let n = read_full(&mut reader, dim_bytes).map_err(err)?;
    let header_len = 4 + dim_bytes.len() as u64;
    if n < dim_bytes.len() {
        return Err(DataError::TruncatedHeader {
            path: path.to_path_buf(),
            expected: header_len,
            actual: 4 + n as u64,
        });
    }
    let raw_dims: Vec<u64> = dim_bytes
        .chunks_exact(4)
        .map(|b| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
        .collect();
    if let Some(index) = raw_dims.iter().position(|&d| d == 0) {
        return Err(DataError::ZeroDimension {
            path: path.to_path_buf(),
            index,
        });
    }
    let too_large = || DataError::TooLarge {
        path: path.to_path_buf(),
        dims: raw_dims.clone(),
    };
    let claimed = raw_dims
        .iter()
        .try_fold(1u64, |acc, &d| {
            acc.checked_mul(d).filter(|&p| p <= MAX_PAYLOAD)
        })
        .ok_or_else(too_large)?;
    // On 32-bit targets a claim may fit in u64 but not in memory at all.
    let claimed_usize = usize::try_from(claimed).map_err(|_| too_large())?;
    let dims = raw_dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| too_large()))
        .collect::<Result<Vec<usize>>>()?;

    let reserve = match input {
        Input::Plain { len: Some(len) } => {
            let actual = len.saturating_sub(header_len);
            check_payload_len(path, claimed, actual)?;
            claimed
        }
        Input::Plain { len: None } => claimed.min(BLIND_RESERVE),
        Input::Gzip { reserve_bound } => claimed.min(reserve_bound),
    };
    // `reserve <= claimed`, which fits in usize.
    let mut data = Vec::with_capacity(reserve as usize);
    // One byte past the claim is enough to detect trailing bytes; beyond that the
    // buffer never grows, whatever the input holds.
    (&mut reader)
        .take(claimed + 1)
        .read_to_end(&mut data)
        .map_err(err)?;
    let mut actual = data.len() as u64;
    if actual > claimed {
        // Count the rest precisely without keeping it.
        actual += io::copy(&mut reader, &mut io::sink()).map_err(err)?;
    }
    check_payload_len(path, claimed, actual)?;
    debug_assert_eq!(data.len(), claimed_usize);
    Ok(IdxArray { dims, data })
}

fn check_payload_len(path: &Path, expected: u64, actual: u64) -> Result<()> {
    let path = path.to_path_buf();
    match actual.cmp(&expected) {
        std::cmp::Ordering::Less => Err(DataError::Truncated {
            path,
            expected,
            actual,
        }),
        std::cmp::Ordering::Greater => Err(DataError::TrailingBytes {
            path,
            expected,
            actual,
        }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// Fills `buf` as far as the reader allows; returns how many bytes it got (short only at EOF).
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Human name of an IDX type code, for error messages.
pub(crate) fn type_name(code: u8) -> &'static str {
    match code {
        0x08 => "unsigned byte",
        0x09 => "i8",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => "not an IDX type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx_bytes(code: u8, dims: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0, 0, code, dims.len() as u8];
        for d in dims {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes.extend_from_slice(payload);
        bytes
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[track_caller]
    fn check(bytes: &[u8], expected: std::result::Result<(&[usize], &[u8]), &str>) {
        for (what, input) in [("plain", bytes.to_vec()), ("gzip", gzip(bytes))] {
            let got = parse_idx(&input, Path::new("t.idx"));
            match (&got, expected) {
                (Ok(a), Ok((dims, data))) => {
                    assert_eq!(a.dims, dims, "{what}");
                    assert_eq!(a.data, data, "{what}");
                }
                (Err(e), Err(needle)) => {
                    let msg = e.to_string();
                    assert!(msg.contains(needle), "{what}: {msg:?} lacks {needle:?}");
                    assert!(msg.contains("t.idx"), "{what}: {msg:?}");
                }
                _ => panic!("{what}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn parses_and_rejects() {
        check(&idx_bytes(8, &[3], &[1, 2, 3]), Ok((&[3], &[1, 2, 3])));
        check(
            &idx_bytes(8, &[2, 1, 2], &[1, 2, 3, 4]),
            Ok((&[2, 1, 2], &[1, 2, 3, 4])),
        );
        check(&[], Err("needs 4 bytes but the input holds only 0"));
        check(&[0, 0, 8], Err("needs 4 bytes but the input holds only 3"));
        check(
            &[0, 0, 8, 2, 0, 0, 0, 1],
            Err("needs 12 bytes but the input holds only 8"),
        );
        check(
            &[1, 0, 8, 1, 0, 0, 0, 1, 0],
            Err("magic bytes are 01 00 08 01"),
        );
        check(&idx_bytes(0x0D, &[1], &[0; 4]), Err("0x0D (f32)"));
        check(&idx_bytes(0x42, &[1], &[0]), Err("0x42 (not an IDX type)"));
        check(&idx_bytes(8, &[], &[]), Err("rank 0"));
        check(&idx_bytes(8, &[2, 0], &[]), Err("dimension 1 is zero"));
        check(
            &idx_bytes(8, &[4], &[1, 2]),
            Err("claims 4 bytes but only 2 follow"),
        );
        check(
            &idx_bytes(8, &[2], &[1, 2, 3, 4, 5]),
            Err("claims 2 bytes but 5 follow"),
        );
        check(
            &idx_bytes(8, &[u32::MAX, u32::MAX, u32::MAX], &[]),
            Err("overflows or exceeds"),
        );
        check(
            &idx_bytes(8, &[4_000_000_000, 28, 28], &[0; 10]),
            Err("claims 3136000000000 bytes but only 10 follow"),
        );
    }

    #[test]
    fn multi_member_gzip_is_one_stream() {
        let bytes = idx_bytes(8, &[4], &[9, 8, 7, 6]);
        let mut two = gzip(&bytes[..6]);
        two.extend(gzip(&bytes[6..]));
        let a = parse_idx(&two, Path::new("m.gz")).unwrap();
        assert_eq!(a.data, [9, 8, 7, 6]);
    }

    #[test]
    fn debug_shows_the_dimensions_not_the_bytes() {
        let a = parse_idx(&idx_bytes(8, &[2, 3], &[1; 6]), Path::new("d")).unwrap();
        assert_eq!(format!("{a:?}"), "IdxArray { dims: [2, 3], data.len(): 6 }");
    }

    /// Yields `bytes`, then fails with `kind` (a disk that goes away mid-read, say).
    struct FailingAfter {
        bytes: Vec<u8>,
        at: usize,
        kind: io::ErrorKind,
    }

    impl Read for FailingAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at == self.bytes.len() {
                return Err(io::Error::new(self.kind, "the device went away"));
            }
            let n = buf.len().min(self.bytes.len() - self.at);
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn a_failing_reader_under_gzip_is_an_io_error_not_a_corrupt_file() {
        let whole = gzip(&idx_bytes(8, &[3000], &[5; 3000]));
        let read = |kind| {
            let reader = FailingAfter {
                bytes: whole[..whole.len() / 2].to_vec(),
                at: 0,
                kind,
            };
            read_idx_from(reader, None, Path::new("g.gz")).unwrap_err()
        };
        let e = read(io::ErrorKind::PermissionDenied);
        assert!(matches!(e, DataError::Io { .. }), "{e}");
        assert!(e.to_string().contains("the device went away"), "{e}");
        // The decoder's own complaints about the stream are what make a corrupt gzip file.
        let e = read(io::ErrorKind::InvalidData);
        assert!(matches!(e, DataError::CorruptGzip { .. }), "{e}");
    }

    #[test]
    fn every_idx_type_is_named() {
        let names = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x0A, 0x00].map(type_name);
        assert_eq!(
            names,
            [
                "unsigned byte",
                "i8",
                "i16",
                "i32",
                "f32",
                "f64",
                "not an IDX type",
                "not an IDX type"
            ]
        );
        // The name is what an unsupported file's error says.
        let e = parse_idx(&idx_bytes(0x0B, &[1], &[0, 0]), Path::new("s.idx")).unwrap_err();
        assert!(e.to_string().contains("0x0B (i16)"), "{e}");
    }

    /// Hands out `bytes` a few at a time, interrupted by a signal before every read.
    struct Interrupted {
        bytes: Vec<u8>,
        at: usize,
        interrupt: bool,
    }

    impl Read for Interrupted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(3).min(self.bytes.len() - self.at);
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn interrupted_reads_are_retried() {
        for bytes in [
            idx_bytes(8, &[2, 3], &[1, 2, 3, 4, 5, 6]),
            gzip(&idx_bytes(8, &[2, 3], &[1, 2, 3, 4, 5, 6])),
        ] {
            let reader = Interrupted {
                bytes,
                at: 0,
                interrupt: false,
            };
            let a = read_idx_from(reader, None, Path::new("i")).unwrap();
            assert_eq!((a.dims, a.data), (vec![2, 3], vec![1, 2, 3, 4, 5, 6]));
        }
    }

    #[test]
    fn unknown_length_reader_works() {
        let bytes = idx_bytes(8, &[3], &[1, 2, 3]);
        let a = read_idx_from(&bytes[..], None, Path::new("r")).unwrap();
        assert_eq!(a.dims, [3]);
        let err = read_idx_from(&bytes[..6], None, Path::new("r")).unwrap_err();
        assert!(matches!(err, DataError::TruncatedHeader { .. }), "{err}");
    }
}
