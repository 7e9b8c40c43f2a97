//! A report table: named, typed columns, written as CSV and as Parquet (polars) so that any
//! engine reads it, and rendered on the page. Cells hold pseudonyms and addresses as the report
//! shows them, never raw ids.

use std::path::Path;

use polars::prelude::*;

use super::ReportError;

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Text.
    Text(Vec<String>),
    /// Optional text (null when absent).
    MaybeText(Vec<Option<String>>),
    /// Integers.
    Int(Vec<i64>),
    /// Optional integers (null when absent).
    MaybeInt(Vec<Option<i64>>),
    /// Reals.
    Real(Vec<f64>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Text(v) => v.len(),
            Values::MaybeText(v) => v.len(),
            Values::Int(v) => v.len(),
            Values::MaybeInt(v) => v.len(),
            Values::Real(v) => v.len(),
        }
    }

    /// Cell `i` as the page shows it (empty when absent or out of range).
    pub fn cell(&self, i: usize) -> String {
        match self {
            Values::Text(v) => v.get(i).cloned().unwrap_or_default(),
            Values::MaybeText(v) => v.get(i).cloned().flatten().unwrap_or_default(),
            Values::Int(v) => v.get(i).map(|x| x.to_string()).unwrap_or_default(),
            Values::MaybeInt(v) => v
                .get(i)
                .copied()
                .flatten()
                .map(|x| x.to_string())
                .unwrap_or_default(),
            Values::Real(v) => v.get(i).map(|x| format_real(*x)).unwrap_or_default(),
        }
    }

    /// True for numeric columns (right-aligned on the page).
    pub fn numeric(&self) -> bool {
        matches!(self, Values::Int(_) | Values::MaybeInt(_) | Values::Real(_))
    }
}

fn format_real(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.4}")
    }
}

/// A named table of equal-length columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File stem (`top_ips` → `top_ips.csv`, `top_ips.parquet`).
    pub name: &'static str,
    /// Columns in order.
    pub columns: Vec<(&'static str, Values)>,
    /// Rows on disk, when the table was written batch by batch and holds only its first rows
    /// here.
    pub written: Option<u64>,
}

impl Table {
    /// An empty table named `name`.
    pub fn new(name: &'static str) -> Table {
        Table {
            name,
            columns: Vec::new(),
            written: None,
        }
    }

    /// The table marked as written batch by batch with `rows` rows (when `Some`).
    pub fn written(mut self, rows: Option<u64>) -> Table {
        self.written = rows;
        self
    }

    /// All its rows: those on disk when written batch by batch, else those here.
    pub fn total_rows(&self) -> u64 {
        self.written.unwrap_or(self.rows() as u64)
    }

    /// Adds a column.
    pub fn with(mut self, name: &'static str, values: Values) -> Table {
        self.columns.push((name, values));
        self
    }

    /// Rows (the first column's length).
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Values> {
        self.columns
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// The table as a polars frame.
    pub fn frame(&self) -> Result<DataFrame, ReportError> {
        let cols: Vec<Column> = self
            .columns
            .iter()
            .map(|(name, v)| {
                let name = PlSmallStr::from_static(name);
                match v {
                    Values::Text(x) => Column::new(name, x),
                    Values::MaybeText(x) => Column::new(name, x),
                    Values::Int(x) => Column::new(name, x),
                    Values::MaybeInt(x) => Column::new(name, x),
                    Values::Real(x) => Column::new(name, x),
                }
            })
            .collect();
        DataFrame::new_infer_height(cols).map_err(|e| ReportError::Table {
            table: self.name,
            problem: e.to_string(),
        })
    }

    /// The table with every text cell that a spreadsheet would run as a formula (starting
    /// with `=`, `+`, `-`, `@`, a tab or a carriage return) prefixed with `'` (OWASP's advice
    /// on CSV injection): ids and keys come from callers, and analysts open CSV files in
    /// spreadsheets. The Parquet files keep the values as they are.
    fn for_spreadsheets(&self) -> Table {
        let safe = |s: &String| -> String {
            if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{s}")
            } else {
                s.clone()
            }
        };
        let columns = self
            .columns
            .iter()
            .map(|(n, v)| {
                let v = match v {
                    Values::Text(x) => Values::Text(x.iter().map(safe).collect()),
                    Values::MaybeText(x) => {
                        Values::MaybeText(x.iter().map(|c| c.as_ref().map(safe)).collect())
                    }
                    other => other.clone(),
                };
                (*n, v)
            })
            .collect();
        Table {
            name: self.name,
            columns,
            written: None,
        }
    }

    /// Writes `DIR/NAME.csv` (spreadsheet-safe, see [`Table::for_spreadsheets`]) and
    /// `DIR/NAME.parquet`.
    pub fn write(&self, dir: &Path) -> Result<(), ReportError> {
        let mut w = TableWriter::create(dir, self)?;
        w.append(self)?;
        w.finish()
    }
}

/// A table written batch by batch (`DIR/NAME.csv`, spreadsheet-safe, and `DIR/NAME.parquet`),
/// so that a table as long as the input never sits in memory whole.
pub struct TableWriter {
    name: &'static str,
    csv: polars::io::csv::write::BatchedWriter<std::fs::File>,
    parquet: polars::io::parquet::write::BatchedWriter<std::fs::File>,
    rows: u64,
}

impl TableWriter {
    /// Creates the files of a table shaped like `shape` (its columns; its rows are not
    /// written).
    pub fn create(dir: &Path, shape: &Table) -> Result<TableWriter, ReportError> {
        let fail = |e: PolarsError| ReportError::Table {
            table: shape.name,
            problem: e.to_string(),
        };
        let schema = shape.frame()?.schema().as_ref().clone();
        let create = |ext: &str| {
            let path = dir.join(format!("{}.{ext}", shape.name));
            std::fs::File::create(&path).map_err(|source| ReportError::Io {
                file: path.display().to_string(),
                source,
            })
        };
        Ok(TableWriter {
            name: shape.name,
            csv: CsvWriter::new(create("csv")?)
                .batched(&schema)
                .map_err(fail)?,
            parquet: ParquetWriter::new(create("parquet")?)
                .batched(&schema)
                .map_err(fail)?,
            rows: 0,
        })
    }

    /// Appends the rows of `t` (shaped as the table was created).
    pub fn append(&mut self, t: &Table) -> Result<(), ReportError> {
        let fail = |e: PolarsError| ReportError::Table {
            table: self.name,
            problem: e.to_string(),
        };
        self.csv
            .write_batch(&t.for_spreadsheets().frame()?)
            .map_err(fail)?;
        self.parquet.write_batch(&t.frame()?).map_err(fail)?;
        self.rows += t.rows() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Completes both files (a table with no rows still has its header and schema).
    pub fn finish(mut self) -> Result<(), ReportError> {
        let fail = |e: PolarsError| ReportError::Table {
            table: self.name,
            problem: e.to_string(),
        };
        self.csv.finish().map_err(fail)?;
        self.parquet.finish().map_err(fail)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_writes_csv_and_parquet_that_read_back_equal() {
        let t = Table::new("sample")
            .with("key", Values::Text(vec!["a".into(), "b,c".into()]))
            .with(
                "id",
                Values::MaybeText(vec![Some("=HYPERLINK(\"x\")".into()), Some("-1".into())]),
            )
            .with("asn", Values::MaybeInt(vec![Some(15169), None]))
            .with("share", Values::Real(vec![0.25, 1.0]));
        let dir = tempfile::tempdir().expect("temp dir");
        t.write(dir.path()).expect("write");
        let want = t.frame().expect("frame");
        let pq = std::fs::File::open(dir.path().join("sample.parquet")).expect("parquet");
        let back = ParquetReader::new(pq).finish().expect("read parquet");
        assert!(back.equals_missing(&want), "{back} vs {want}");
        let csv = std::fs::read_to_string(dir.path().join("sample.csv")).expect("csv");
        assert_eq!(
            csv,
            "key,id,asn,share\na,\"'=HYPERLINK(\"\"x\"\")\",15169,0.25\n\"b,c\",'-1,,1.0\n"
        );
        assert_eq!(t.rows(), 2);
        // Two batches make the same files as one.
        let halves = tempfile::tempdir().expect("temp dir");
        let half = |rows: std::ops::Range<usize>| Table {
            name: t.name,
            written: None,
            columns: t
                .columns
                .iter()
                .map(|(n, v)| {
                    let v = match v {
                        Values::Text(x) => Values::Text(x[rows.clone()].to_vec()),
                        Values::MaybeText(x) => Values::MaybeText(x[rows.clone()].to_vec()),
                        Values::Int(x) => Values::Int(x[rows.clone()].to_vec()),
                        Values::MaybeInt(x) => Values::MaybeInt(x[rows.clone()].to_vec()),
                        Values::Real(x) => Values::Real(x[rows.clone()].to_vec()),
                    };
                    (*n, v)
                })
                .collect(),
        };
        let mut w = TableWriter::create(halves.path(), &t).expect("create");
        w.append(&half(0..1)).expect("first half");
        w.append(&half(1..2)).expect("second half");
        assert_eq!(w.rows(), 2);
        w.finish().expect("finish");
        let csv2 = std::fs::read_to_string(halves.path().join("sample.csv")).expect("csv");
        assert_eq!(csv2, csv);
        let pq = std::fs::File::open(halves.path().join("sample.parquet")).expect("parquet");
        let back = ParquetReader::new(pq).finish().expect("read parquet");
        assert!(back.equals_missing(&want), "{back} vs {want}");
        assert_eq!(t.column("asn").map(|c| c.cell(1)), Some(String::new()));
        assert_eq!(t.column("share").map(|c| c.cell(0)), Some("0.2500".into()));
    }
}
