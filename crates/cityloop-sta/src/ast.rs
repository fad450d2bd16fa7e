//! The syntax tree of `$filter` and `$orderby` expressions.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeDelta};

/// A parsed `$filter` / `$orderby` expression.
///
/// `and` / `or` chains are n-ary (`a and b and c` is one [`Expr::And`] with
/// three operands), so long lists of alternatives stay shallow; the other
/// binary operators are left-associative binary nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal value.
    Literal(Literal),
    /// A member path such as `name`, `properties/owner/name` or
    /// `Datastream/Thing/name`, one element per `/`-separated segment, as
    /// written (`id` is mapped to `@iot.id` during evaluation).
    Member(Vec<String>),
    /// Conjunction of two or more operands.
    And(Vec<Expr>),
    /// Disjunction of two or more operands.
    Or(Vec<Expr>),
    /// Logical negation.
    Not(Box<Expr>),
    /// A comparison `left op right`.
    Compare {
        /// The comparison operator.
        op: CompareOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// An arithmetic operation `left op right`.
    Arith {
        /// The arithmetic operator.
        op: ArithOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// Arithmetic negation (unary `-`) of a non-literal operand.
    Negate(Box<Expr>),
    /// A call of a built-in function; arity is checked when parsing.
    Call {
        /// The function called.
        function: Function,
        /// The arguments, in source order.
        args: Vec<Expr>,
    },
}

/// A literal in an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A decimal, an integer with an exponent, or an integer too large for `i64`.
    Float(f64),
    /// A single-quoted string, with `''` unescaped.
    String(String),
    /// An ISO 8601 date-time with its offset (UTC when none was written).
    DateTime(DateTime<FixedOffset>),
    /// A date such as `2013-01-01`.
    Date(NaiveDate),
    /// A time of day such as `08:30:00`.
    TimeOfDay(NaiveTime),
    /// `duration'P1DT2H'`
    Duration(TimeDelta),
    /// `geography'POINT(1 2)'` or `geometry'...'`.
    Geometry(geo::Geometry<f64>),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    /// The operator for a keyword, if it is one.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Some(match word {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }

    /// The operator with its operands swapped: `a gt b` ⇔ `b lt a`.
    pub fn flipped(self) -> Self {
        match self {
            Self::Eq => Self::Eq,
            Self::Ne => Self::Ne,
            Self::Gt => Self::Lt,
            Self::Ge => Self::Le,
            Self::Lt => Self::Gt,
            Self::Le => Self::Ge,
        }
    }
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithOp {
    /// `add`
    Add,
    /// `sub`
    Sub,
    /// `mul`
    Mul,
    /// `div`
    Div,
    /// `mod`
    Mod,
}

impl ArithOp {
    /// The operator for a keyword, if it is one.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Some(match word {
            "add" => Self::Add,
            "sub" => Self::Sub,
            "mul" => Self::Mul,
            "div" => Self::Div,
            "mod" => Self::Mod,
            _ => return None,
        })
    }

    /// The keyword spelling.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Sub => "sub",
            Self::Mul => "mul",
            Self::Div => "div",
            Self::Mod => "mod",
        }
    }
}

/// Reserved words that cannot start a member path.
pub(crate) const OPERATOR_KEYWORDS: &[&str] = &[
    "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "add", "sub", "mul", "div", "mod",
];

macro_rules! functions {
    ($($variant:ident = $name:literal, $min:literal ..= $max:literal;)*) => {
        /// The built-in functions of SensorThings `$filter`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Function {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Function {
            /// Looks a function up by its (case-sensitive) name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// The function's name as written in a filter.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            /// The fewest and most arguments the function takes.
            pub fn arity(self) -> (usize, usize) {
                match self {
                    $(Self::$variant => ($min, $max),)*
                }
            }
        }
    };
}

functions! {
    SubstringOf = "substringof", 2..=2;
    Contains = "contains", 2..=2;
    EndsWith = "endswith", 2..=2;
    StartsWith = "startswith", 2..=2;
    Length = "length", 1..=1;
    IndexOf = "indexof", 2..=2;
    Substring = "substring", 2..=3;
    ToLower = "tolower", 1..=1;
    ToUpper = "toupper", 1..=1;
    Trim = "trim", 1..=1;
    Concat = "concat", 2..=2;
    Year = "year", 1..=1;
    Month = "month", 1..=1;
    Day = "day", 1..=1;
    Hour = "hour", 1..=1;
    Minute = "minute", 1..=1;
    Second = "second", 1..=1;
    FractionalSeconds = "fractionalseconds", 1..=1;
    Date = "date", 1..=1;
    Time = "time", 1..=1;
    TotalOffsetMinutes = "totaloffsetminutes", 1..=1;
    Now = "now", 0..=0;
    MinDateTime = "mindatetime", 0..=0;
    MaxDateTime = "maxdatetime", 0..=0;
    Round = "round", 1..=1;
    Floor = "floor", 1..=1;
    Ceiling = "ceiling", 1..=1;
    GeoDistance = "geo.distance", 2..=2;
    GeoLength = "geo.length", 1..=1;
    GeoIntersects = "geo.intersects", 2..=2;
    StEquals = "st_equals", 2..=2;
    StDisjoint = "st_disjoint", 2..=2;
    StTouches = "st_touches", 2..=2;
    StWithin = "st_within", 2..=2;
    StOverlaps = "st_overlaps", 2..=2;
    StCrosses = "st_crosses", 2..=2;
    StIntersects = "st_intersects", 2..=2;
    StContains = "st_contains", 2..=2;
    StRelate = "st_relate", 3..=3;
}
