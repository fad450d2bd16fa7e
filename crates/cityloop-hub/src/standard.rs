//! City standards as data: [`Standard`]s (JSON under `data/hub/standards/`),
//! [`CodeTable`]s (JSON under `data/hub/code-tables/` plus the GB/T 47678.5
//! category list and the NBS area codes already in `data/`) and the
//! [`AreaTable`] that turns an area name or an address into an area code.
//!
//! The key design decision: a statistical definition (口径) such as the age
//! bands is stated *once*, in the standard ([`Derived`]), and computed from
//! mapped values after mapping. Departments' mappings cannot define derived
//! fields, so a count by age band means the same whichever department's file
//! it came from. [`Library::bundled`] compiles every file in with
//! `include_str!`, so the binary runs without the repository.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::HubError;

/// What a standard field holds; decides parsing and validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Integer,
    Decimal,
    Date,
    DateTime,
    /// A code that must be in the field's `code_table`.
    Code,
    /// A Shanghai administrative area code (6, 9 or 12 digits, or 310000).
    AreaCode,
    /// WGS-84 longitude in degrees.
    Lon,
    /// WGS-84 latitude in degrees.
    Lat,
    /// A citizen ID number (GB 11643).
    IdNumber,
    /// A mainland mobile number.
    Mobile,
    /// A unified social credit code (GB 32100).
    CreditCode,
    Boolean,
}

/// Data classification, ordered from least to most protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    Public,
    Internal,
    Personal,
    SensitivePersonal,
}

/// How a personal text field is masked; text alone cannot tell a name from
/// an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskHint {
    Name,
    Address,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardField {
    pub name: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    pub classification: Classification,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<MaskHint>,
    #[serde(default)]
    pub description: String,
}

/// One age band: `min..=max` full years (`max` absent = open).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeBand {
    pub min: u32,
    #[serde(default)]
    pub max: Option<u32>,
    pub label: String,
}

/// The rule of a derived field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum DerivedRule {
    /// Age in full years on `as_of`, from the date field `from`, or — when
    /// that is empty — from the birth date inside the ID number field
    /// `fallback_id_number`, put into the first band that contains it.
    AgeBand {
        from: String,
        #[serde(default)]
        fallback_id_number: Option<String>,
        as_of: NaiveDate,
        bands: Vec<AgeBand>,
    },
}

/// A derived field / statistical definition (口径), stated once per standard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Derived {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(flatten)]
    pub rule: DerivedRule,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standard {
    pub id: String,
    pub version: String,
    /// Chinese name.
    pub name: String,
    pub title_en: String,
    #[serde(default)]
    pub description: String,
    pub fields: Vec<StandardField>,
    /// Fields that together identify a record; used for duplicate detection.
    pub key: Vec<String>,
    /// The field naming the person (an ID number), for a citizen's data tracker.
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub derived: Vec<Derived>,
}

impl Standard {
    /// Position of the field named `name`.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    pub fn field(&self, name: &str) -> Option<&StandardField> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn check(&self, tables: &BTreeMap<String, CodeTable>) -> Result<(), HubError> {
        let err = |m: String| Err(HubError::Library(format!("standard {}: {m}", self.id)));
        for (i, f) in self.fields.iter().enumerate() {
            if self.fields[..i].iter().any(|g| g.name == f.name) {
                return err(format!("field {} is declared twice", f.name));
            }
            match (&f.code_table, f.kind) {
                (Some(t), _) if !tables.contains_key(t) => {
                    return err(format!("field {}: unknown code table {t}", f.name));
                }
                (None, FieldKind::Code) => {
                    return err(format!("code field {} names no code_table", f.name));
                }
                _ => {}
            }
        }
        for k in self.key.iter().chain(&self.subject) {
            if self.field(k).is_none() {
                return err(format!("key/subject field {k} is not a field"));
            }
        }
        for d in &self.derived {
            let DerivedRule::AgeBand {
                from,
                fallback_id_number,
                bands,
                ..
            } = &d.rule;
            for f in std::iter::once(from).chain(fallback_id_number) {
                if self.field(f).is_none() {
                    return err(format!("derived {}: unknown field {f}", d.name));
                }
            }
            if bands.is_empty() {
                return err(format!("derived {}: no bands", d.name));
            }
        }
        Ok(())
    }
}

impl DerivedRule {
    /// The age band label for a birth date, per this rule's `as_of` date.
    pub fn age_band(&self, birth: NaiveDate) -> Option<&str> {
        let DerivedRule::AgeBand { as_of, bands, .. } = self;
        if birth > *as_of {
            return None;
        }
        let mut age = as_of.year() - birth.year();
        if (as_of.month(), as_of.day()) < (birth.month(), birth.day()) {
            age -= 1;
        }
        let age = u32::try_from(age).ok()?;
        bands
            .iter()
            .find(|b| age >= b.min && b.max.is_none_or(|max| age <= max))
            .map(|b| b.label.as_str())
    }
}

/// One entry of a code table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Code {
    pub code: String,
    pub label: String,
}

/// A code list: a national standard's (sex, categories, areas) or a
/// department's own codes. As the target of a mapping's `code_map`, an
/// entry's `label` is the *standard code* the department code stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeTable {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub source: String,
    pub codes: Vec<Code>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl CodeTable {
    pub fn new(id: &str, name: &str, source: &str, codes: Vec<Code>) -> Result<Self, HubError> {
        let mut table = CodeTable {
            id: id.to_string(),
            name: name.to_string(),
            source: source.to_string(),
            codes,
            index: HashMap::new(),
        };
        table.build_index()?;
        Ok(table)
    }

    /// Parses a code table from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, HubError> {
        let mut table: CodeTable = serde_json::from_str(text)
            .map_err(|e| HubError::Library(format!("code table: {e}")))?;
        table.build_index()?;
        Ok(table)
    }

    fn build_index(&mut self) -> Result<(), HubError> {
        self.index.clear();
        for (i, c) in self.codes.iter().enumerate() {
            if self.index.insert(c.code.clone(), i).is_some() {
                return Err(HubError::Library(format!(
                    "code table {}: code {} appears twice",
                    self.id, c.code
                )));
            }
        }
        Ok(())
    }

    pub fn label(&self, code: &str) -> Option<&str> {
        self.index.get(code).map(|&i| self.codes[i].label.as_str())
    }

    pub fn contains(&self, code: &str) -> bool {
        self.index.contains_key(code)
    }
}

/// Shanghai's administrative areas (NBS 2023): code ↔ name, and addresses →
/// the deepest area code they name.
#[derive(Debug, Clone, Default)]
pub struct AreaTable {
    names: HashMap<String, String>,
    /// District names with their codes.
    districts: Vec<(String, String)>,
    /// Children (name, code) of a district or street code.
    children: HashMap<String, Vec<(String, String)>>,
    /// Street / town names are unique city-wide in the NBS list.
    street_by_name: HashMap<String, String>,
    /// The same, longest name first.
    streets: Vec<(String, String)>,
}

/// The city's own code; NBS lists the province as `31`.
pub const CITY_CODE: &str = "310000";
const CITY_PREFIXES: &[&str] = &["上海市", "上海"];

impl AreaTable {
    /// Builds the table from the NBS CSV (`level,code,name,parent_code`).
    pub fn from_nbs_csv(text: &str) -> Result<Self, HubError> {
        let mut table = AreaTable::default();
        table
            .names
            .insert(CITY_CODE.to_string(), "上海市".to_string());
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        for row in reader.records() {
            let row = row.map_err(|e| HubError::Library(format!("area csv: {e}")))?;
            let (level, code, name, parent) = (&row[0], &row[1], &row[2], &row[3]);
            match level {
                "district" => table.districts.push((name.to_string(), code.to_string())),
                "street" => {
                    table
                        .street_by_name
                        .insert(name.to_string(), code.to_string());
                    table.streets.push((name.to_string(), code.to_string()));
                }
                _ => {}
            }
            if matches!(level, "street" | "community") {
                table
                    .children
                    .entry(parent.to_string())
                    .or_default()
                    .push((name.to_string(), code.to_string()));
            }
            if matches!(level, "district" | "street" | "community") {
                table.names.insert(code.to_string(), name.to_string());
            }
        }
        // Longest names first, so that the first prefix that fits is the longest.
        table
            .districts
            .sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        table
            .streets
            .sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        for list in table.children.values_mut() {
            list.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        }
        Ok(table)
    }

    /// The name of an area code.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.names.get(code).map(String::as_str)
    }

    /// The canonical form of an area code: 6, 9 or 12 digits as listed;
    /// a 12-digit code padded with zeros (`310107015000`) is shortened.
    pub fn normalize_code<'a>(&'a self, code: &str) -> Option<&'a str> {
        let mut c = code;
        loop {
            if let Some((k, _)) = self.names.get_key_value(c) {
                return Some(k.as_str());
            }
            c = if c.len() == 12 && c.ends_with("000") {
                &c[..9]
            } else if c.len() == 9 && c.ends_with("000") {
                &c[..6]
            } else {
                return None;
            };
        }
    }

    /// The deepest area an address names: longest district name (after an
    /// optional 上海市), then the longest street/town name of that district,
    /// then the longest committee name of that street.
    pub fn resolve_address<'a>(&'a self, address: &str) -> Option<&'a str> {
        let mut rest = address.trim();
        let mut found = false;
        for p in CITY_PREFIXES {
            if let Some(r) = rest.strip_prefix(p) {
                rest = r.strip_prefix("市辖区").unwrap_or(r);
                found = true;
                break;
            }
        }
        let mut code: Option<&str> = found.then_some(CITY_CODE);
        if let Some((name, district)) = self
            .districts
            .iter()
            .find(|(n, _)| rest.starts_with(n.as_str()))
        {
            rest = &rest[name.len()..];
            code = Some(district);
        } else if let Some((name, street)) = self
            .streets
            .iter()
            .find(|(n, _)| rest.starts_with(n.as_str()))
        {
            // No district given: a street name is unique city-wide.
            rest = &rest[name.len()..];
            code = Some(street);
            return self.deepen(code?, rest).or(code);
        }
        match code {
            Some(c) if c != CITY_CODE => self.deepen(c, rest).or(Some(c)),
            other => other,
        }
    }

    /// Follows children names down from `parent` as long as a prefix matches.
    fn deepen<'a>(&'a self, parent: &'a str, rest: &str) -> Option<&'a str> {
        let children = self.children.get(parent)?;
        let (name, code) = children
            .iter()
            .find(|(n, _)| rest.starts_with(n.as_str()))?;
        self.deepen(code, &rest[name.len()..])
            .or(Some(code.as_str()))
    }

    /// An area *name* (district, street, or "district+street") to its code.
    pub fn resolve_name<'a>(&'a self, name: &str) -> Option<&'a str> {
        let name = name.trim();
        if let Some(code) = self.street_by_name.get(name) {
            return Some(code);
        }
        self.resolve_address(name)
    }
}

const STANDARDS: &[(&str, &str)] = &[
    (
        "component",
        include_str!("../../../data/hub/standards/component.json"),
    ),
    (
        "population",
        include_str!("../../../data/hub/standards/population.json"),
    ),
    (
        "enterprise",
        include_str!("../../../data/hub/standards/enterprise.json"),
    ),
    ("poi", include_str!("../../../data/hub/standards/poi.json")),
    (
        "event",
        include_str!("../../../data/hub/standards/event.json"),
    ),
];

const CODE_TABLES: &[&str] = &[
    include_str!("../../../data/hub/code-tables/sex.json"),
    include_str!("../../../data/hub/code-tables/component-status.json"),
    include_str!("../../../data/hub/code-tables/industry.json"),
    include_str!("../../../data/hub/code-tables/poi-type.json"),
    include_str!("../../../data/hub/code-tables/demo-putuo-cgj-component-codes.json"),
];

const CATEGORIES_CSV: &str = include_str!("../../../data/gbt47678.5-2026-categories.csv");
const AREAS_CSV: &str = include_str!("../../../data/shanghai-divisions-nbs2023.csv");

/// Standards, code tables and areas; everything a mapping compiles against.
#[derive(Debug, Clone)]
pub struct Library {
    standards: Vec<Standard>,
    code_tables: BTreeMap<String, CodeTable>,
    areas: AreaTable,
}

impl Library {
    /// Everything shipped in `data/hub/` and `data/`, compiled in.
    pub fn bundled() -> Result<Library, HubError> {
        let mut code_tables = BTreeMap::new();
        for text in CODE_TABLES {
            let table = CodeTable::from_json(text)?;
            code_tables.insert(table.id.clone(), table);
        }
        // The list numbers 管理部件 and 管理事项 separately (01001 is both
        // 供水井盖 and 供水井盖异常), so it makes two tables.
        let mut components = Vec::new();
        let mut matters = Vec::new();
        let mut reader = csv::Reader::from_reader(CATEGORIES_CSV.as_bytes());
        for row in reader.records() {
            let row = row.map_err(|e| HubError::Library(format!("categories csv: {e}")))?;
            let code = Code {
                code: row[0].to_string(),
                label: row[4].to_string(),
            };
            match &row[1] {
                "管理部件" => components.push(code),
                _ => matters.push(code),
            }
        }
        for (id, name, codes) in [
            ("gbt47678.5", "城市管理部件分类代码", components),
            ("gbt47678.5-event", "城市管理事项分类代码", matters),
        ] {
            let table = CodeTable::new(id, name, "GB/T 47678.5-2026", codes)?;
            code_tables.insert(table.id.clone(), table);
        }
        let areas = AreaTable::from_nbs_csv(AREAS_CSV)?;
        let mut area_codes: Vec<Code> = areas
            .names
            .iter()
            .map(|(code, label)| Code {
                code: code.clone(),
                label: label.clone(),
            })
            .collect();
        area_codes.sort_by(|a, b| a.code.cmp(&b.code));
        let area = CodeTable::new("area", "上海市统计用区划代码", "NBS 2023", area_codes)?;
        code_tables.insert(area.id.clone(), area);

        let mut library = Library {
            standards: Vec::new(),
            code_tables,
            areas,
        };
        for (id, text) in STANDARDS {
            let standard: Standard = serde_json::from_str(text)
                .map_err(|e| HubError::Library(format!("standard {id}: {e}")))?;
            library.add_standard(standard)?;
        }
        Ok(library)
    }

    /// Adds (or replaces) a standard after checking it against the code tables.
    pub fn add_standard(&mut self, standard: Standard) -> Result<(), HubError> {
        standard.check(&self.code_tables)?;
        self.standards.retain(|s| s.id != standard.id);
        self.standards.push(standard);
        Ok(())
    }

    /// Adds (or replaces) a code table, e.g. a department's own code list.
    pub fn add_code_table(&mut self, table: CodeTable) {
        self.code_tables.insert(table.id.clone(), table);
    }

    pub fn standard(&self, id: &str) -> Option<&Standard> {
        self.standards.iter().find(|s| s.id == id)
    }

    pub fn standards(&self) -> &[Standard] {
        &self.standards
    }

    pub fn code_table(&self, id: &str) -> Option<&CodeTable> {
        self.code_tables.get(id)
    }

    pub fn code_tables(&self) -> impl Iterator<Item = &CodeTable> {
        self.code_tables.values()
    }

    pub fn areas(&self) -> &AreaTable {
        &self.areas
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_library_loads() {
        let lib = Library::bundled().unwrap();
        let ids: Vec<&str> = lib.standards().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            ["component", "population", "enterprise", "poi", "event"]
        );
        assert_eq!(
            lib.code_table("sex").unwrap().label("9"),
            Some("未说明的性别")
        );
        assert_eq!(
            lib.code_table("gbt47678.5").unwrap().label("01001"),
            Some("供水井盖")
        );
        assert_eq!(
            lib.code_table("gbt47678.5-event").unwrap().label("01001"),
            Some("供水井盖异常")
        );
        assert_eq!(
            lib.code_table("area").unwrap().label("310107015"),
            Some("长寿路街道")
        );
        assert!(Classification::Public < Classification::Internal);
        assert!(Classification::Personal < Classification::SensitivePersonal);
    }

    #[test]
    fn addresses_resolve_to_the_deepest_area() {
        let lib = Library::bundled().unwrap();
        let areas = lib.areas();
        let cases = [
            ("上海市普陀区长寿路街道某某路100号", Some("310107015")),
            ("普陀区长寿路街道澳门路居委会3号楼", Some("310107015003")),
            ("上海市普陀区中山北路2000号", Some("310107")),
            ("浦东新区陆家嘴街道", Some("310115005")),
            ("长寿路街道", Some("310107015")),
            ("上海市", Some("310000")),
            ("北京市朝阳区", None),
        ];
        for (address, expected) in cases {
            assert_eq!(areas.resolve_address(address), expected, "{address}");
        }
        assert_eq!(areas.resolve_name("普陀区"), Some("310107"));
        assert_eq!(areas.resolve_name("长寿路街道"), Some("310107015"));
        assert_eq!(areas.normalize_code("310107015000"), Some("310107015"));
        assert_eq!(areas.normalize_code("310107000000"), Some("310107"));
        assert_eq!(areas.normalize_code("310199"), None);
    }

    #[test]
    fn age_band_counts_full_years() {
        let lib = Library::bundled().unwrap();
        let rule = &lib.standard("population").unwrap().derived[0].rule;
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // as_of is 2026-01-01 in the bundled standard.
        assert_eq!(rule.age_band(d(2011, 1, 1)), Some("15-59"));
        assert_eq!(rule.age_band(d(2011, 1, 2)), Some("0-14"));
        assert_eq!(rule.age_band(d(1966, 1, 1)), Some("60+"));
        assert_eq!(rule.age_band(d(1966, 1, 2)), Some("15-59"));
        assert_eq!(rule.age_band(d(2027, 1, 1)), None);
    }
}
