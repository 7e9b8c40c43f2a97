//! The benchmark file: a CSV in the CMU layout (`subject`, optional `sessionIndex` and `rep`,
//! then numeric timing columns in seconds, read by position since names may repeat). Hand-parsed
//! with std: the 4.6 MB CMU file loads in a few milliseconds. Malformed input is a
//! [`KeystrokeError`] naming line and column, never a panic.

use std::path::Path;

use super::{KeystrokeError, Samples};

/// One typist's repetitions, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// Subject id as in the file (e.g. `s002`).
    pub id: String,
    /// Timing vectors, one per repetition, in seconds.
    pub samples: Samples,
}

/// A loaded benchmark: subjects in order of first appearance.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Names of the timing columns (may repeat).
    pub timing_columns: Vec<String>,
    /// Subjects, in order of first appearance in the file.
    pub subjects: Vec<Subject>,
}

impl Dataset {
    /// Total repetitions over all subjects.
    pub fn n_rows(&self) -> usize {
        self.subjects.iter().map(|s| s.samples.len()).sum()
    }

    /// Rounds every timing to the nearest multiple of `step_ms` milliseconds (timings are in
    /// seconds), as a coarse browser timer would report it.
    pub fn quantize(&mut self, step_ms: f64) {
        let step_s = step_ms / 1000.0;
        if step_s <= 0.0 || !step_s.is_finite() {
            return;
        }
        for s in &mut self.subjects {
            let mut q = Samples::new(s.samples.n_features());
            let mut row = vec![0.0; s.samples.n_features()];
            for r in s.samples.rows() {
                for (o, &x) in row.iter_mut().zip(r) {
                    *o = (x / step_s).round() * step_s;
                }
                q.push(&row);
            }
            s.samples = q;
        }
    }
}

/// Reads and parses the file at `path`.
pub fn load(path: &Path) -> Result<Dataset, KeystrokeError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeystrokeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text)
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Parses CSV text in the CMU layout (LF or CRLF line endings, optional UTF-8 BOM; blank lines
/// are skipped).
pub fn parse(text: &str) -> Result<Dataset, KeystrokeError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(KeystrokeError::Empty)?;
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let first = names.first().copied().unwrap_or_default();
    if !first.eq_ignore_ascii_case("subject") {
        return Err(KeystrokeError::NoSubjectColumn { found: clip(first) });
    }
    let mut skip = 1;
    for optional in ["sessionIndex", "rep"] {
        if names
            .get(skip)
            .is_some_and(|n| n.eq_ignore_ascii_case(optional))
        {
            skip += 1;
        }
    }
    if names.len() <= skip {
        return Err(KeystrokeError::NoTimingColumns);
    }
    let n_features = names.len() - skip;
    let mut subjects: Vec<Subject> = Vec::new();
    let mut row = vec![0.0; n_features];
    for (line, l) in lines {
        let mut fields = l.split(',');
        let id = fields.next().unwrap_or_default().trim();
        if id.is_empty() {
            return Err(KeystrokeError::EmptySubject { line });
        }
        let mut found = 1;
        for (column, field) in fields.enumerate().map(|(i, f)| (i + 2, f)) {
            found += 1;
            if column <= skip {
                continue;
            }
            let value = field.trim().parse::<f64>().ok().filter(|v| v.is_finite());
            let slot = row.get_mut(column - 1 - skip);
            match (value, slot) {
                (Some(v), Some(slot)) => *slot = v,
                (None, Some(_)) => {
                    return Err(KeystrokeError::BadNumber {
                        line,
                        column,
                        name: clip(names.get(column - 1).copied().unwrap_or_default()),
                        value: clip(field),
                    });
                }
                (_, None) => {} // too many fields: reported below with the count
            }
        }
        if found != names.len() {
            return Err(KeystrokeError::FieldCount {
                line,
                expected: names.len(),
                found,
            });
        }
        // Subjects are usually contiguous: check the last one first.
        let pos = match subjects.last() {
            Some(s) if s.id == id => subjects.len() - 1,
            _ => match subjects.iter().position(|s| s.id == id) {
                Some(p) => p,
                None => {
                    subjects.push(Subject {
                        id: id.to_string(),
                        samples: Samples::new(n_features),
                    });
                    subjects.len() - 1
                }
            },
        };
        if let Some(s) = subjects.get_mut(pos) {
            s.samples.push(&row);
        }
    }
    Ok(Dataset {
        timing_columns: names[skip..].iter().map(|s| s.to_string()).collect(),
        subjects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_crlf_with_optional_columns_and_repeated_names() {
        let text = "subject,sessionIndex,rep,H.a,H.a\r\ns1,1,1,0.1,0.2\r\ns2,1,1,0.3,-0.4\r\ns1,1,2,0.5,0.6\r\n";
        let d = parse(text).expect("valid");
        assert_eq!(d.timing_columns, ["H.a", "H.a"]);
        assert_eq!(d.subjects.len(), 2);
        assert_eq!(d.subjects[0].id, "s1");
        assert_eq!(d.subjects[0].samples.row(1), Some(&[0.5, 0.6][..]));
        assert_eq!(d.subjects[1].samples.row(0), Some(&[0.3, -0.4][..]));
    }

    #[test]
    fn subject_only_layout_reads_every_other_column_as_timing() {
        let d = parse("subject,x,y,z\na,1,2,3\n").expect("valid");
        assert_eq!(d.subjects[0].samples.row(0), Some(&[1.0, 2.0, 3.0][..]));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("subject,rep,H.a,H.b\ns1,1,0.1,0.2\ns1,2,0.1,abc\n").expect_err("bad");
        assert_eq!(
            e.to_string(),
            "line 3, column 4 (`H.b`): `abc` is not a finite number"
        );
        let e = parse("subject,H.a,H.b\ns1,0.1\n").expect_err("short");
        assert_eq!(
            e.to_string(),
            "line 2: expected 3 fields as in the header, found 2"
        );
        let e = parse("subject,H.a\ns1,0.1,0.2\n").expect_err("long");
        assert_eq!(
            e.to_string(),
            "line 2: expected 2 fields as in the header, found 3"
        );
        let e = parse("user,H.a\n").expect_err("no subject");
        assert_eq!(
            e.to_string(),
            "line 1, column 1: expected a `subject` column, found `user`"
        );
        let e = parse("subject,sessionIndex,rep\n").expect_err("no timings");
        assert_eq!(e.to_string(), "line 1: no timing columns after `subject`");
        let e = parse("subject,H.a\n,0.1\n").expect_err("empty id");
        assert_eq!(
            e.to_string(),
            "line 2, column 1 (`subject`): empty subject id"
        );
        let e = parse("subject,H.a\ns1,NaN\n").expect_err("nan");
        assert!(e.to_string().starts_with("line 2, column 2 (`H.a`)"), "{e}");
        assert!(matches!(parse(""), Err(KeystrokeError::Empty)));
    }

    #[test]
    fn quantize_rounds_to_the_step() {
        let mut d = parse("subject,H.a,H.b\ns1,0.1234,-0.0260\n").expect("valid");
        d.quantize(10.0);
        let r = d.subjects[0].samples.row(0).expect("row");
        assert!(
            (r[0] - 0.12).abs() < 1e-12 && (r[1] + 0.03).abs() < 1e-12,
            "{r:?}"
        );
    }
}
