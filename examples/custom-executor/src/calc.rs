//! `calc`, a tiny deterministic expression language: unsigned 64-bit integers, `+ - * / %`,
//! parentheses, and two variables — `x`, the call's argument, and `s`, the contract's stored
//! value. Arithmetic is checked: overflow and division by zero are errors, the same on every
//! machine. Programs are at most [`MAX_CODE`] bytes and [`MAX_DEPTH`] levels deep.

/// The longest program.
pub const MAX_CODE: usize = 1024;

/// The deepest nesting of parentheses and operators.
pub const MAX_DEPTH: usize = 32;

/// A parsed expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A literal.
    Num(u64),
    /// The argument.
    X,
    /// The stored value.
    S,
    /// `a op b`.
    Bin(Box<Expr>, Op, Box<Expr>),
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

/// Why a program does not parse or evaluate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalcError {
    /// The program is not a valid expression.
    #[error("parse error at byte {at}: {reason}")]
    Parse {
        /// Where.
        at: usize,
        /// What is wrong.
        reason: String,
    },
    /// A result does not fit in 64 bits (or is below zero).
    #[error("arithmetic overflow")]
    Overflow,
    /// Division or remainder by zero.
    #[error("division by zero")]
    DivisionByZero,
}

struct Parser<'a> {
    src: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, reason: impl Into<String>) -> CalcError {
        CalcError::Parse {
            at: self.at,
            reason: reason.into(),
        }
    }

    fn skip_space(&mut self) {
        while self.src.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.src.get(self.at).copied()
    }

    fn enter(&mut self) -> Result<(), CalcError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!("nested deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, CalcError> {
        self.enter()?;
        let mut left = self.term()?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            self.at += 1;
            let op = if c == b'+' { Op::Add } else { Op::Sub };
            left = Expr::Bin(Box::new(left), op, Box::new(self.term()?));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, CalcError> {
        self.enter()?;
        let mut left = self.factor()?;
        while let Some(c @ (b'*' | b'/' | b'%')) = self.peek() {
            self.at += 1;
            let op = match c {
                b'*' => Op::Mul,
                b'/' => Op::Div,
                _ => Op::Rem,
            };
            left = Expr::Bin(Box::new(left), op, Box::new(self.factor()?));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn factor(&mut self) -> Result<Expr, CalcError> {
        match self.peek() {
            Some(b'x') => {
                self.at += 1;
                Ok(Expr::X)
            }
            Some(b's') => {
                self.at += 1;
                Ok(Expr::S)
            }
            Some(b'(') => {
                self.at += 1;
                let e = self.expr()?;
                if self.peek() != Some(b')') {
                    return Err(self.err("expected ')'"));
                }
                self.at += 1;
                Ok(e)
            }
            Some(b'0'..=b'9') => {
                let start = self.at;
                while self.src.get(self.at).is_some_and(u8::is_ascii_digit) {
                    self.at += 1;
                }
                std::str::from_utf8(&self.src[start..self.at])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .map(Expr::Num)
                    .ok_or_else(|| self.err("number does not fit in 64 bits"))
            }
            Some(c) => Err(self.err(format!("unexpected {:?}", c as char))),
            None => Err(self.err("unexpected end")),
        }
    }
}

/// Parses a program.
///
/// # Errors
/// [`CalcError::Parse`] with the position.
pub fn parse(code: &[u8]) -> Result<Expr, CalcError> {
    if code.len() > MAX_CODE {
        return Err(CalcError::Parse {
            at: MAX_CODE,
            reason: format!("longer than {MAX_CODE} bytes"),
        });
    }
    let mut p = Parser {
        src: code,
        at: 0,
        depth: 0,
    };
    let e = p.expr()?;
    if p.peek().is_some() {
        return Err(p.err("trailing input"));
    }
    Ok(e)
}

impl Expr {
    /// The number of nodes: the compute units of evaluating it.
    pub fn size(&self) -> u64 {
        match self {
            Expr::Bin(a, _, b) => 1 + a.size() + b.size(),
            _ => 1,
        }
    }

    /// Evaluates with argument `x` and stored value `s`.
    ///
    /// # Errors
    /// Overflow or division by zero.
    pub fn eval(&self, x: u64, s: u64) -> Result<u64, CalcError> {
        Ok(match self {
            Expr::Num(n) => *n,
            Expr::X => x,
            Expr::S => s,
            Expr::Bin(a, op, b) => {
                let (a, b) = (a.eval(x, s)?, b.eval(x, s)?);
                match op {
                    Op::Add => a.checked_add(b).ok_or(CalcError::Overflow)?,
                    Op::Sub => a.checked_sub(b).ok_or(CalcError::Overflow)?,
                    Op::Mul => a.checked_mul(b).ok_or(CalcError::Overflow)?,
                    Op::Div => a.checked_div(b).ok_or(CalcError::DivisionByZero)?,
                    Op::Rem => a.checked_rem(b).ok_or(CalcError::DivisionByZero)?,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_parentheses() {
        assert_eq!(parse(b"s + x * 2").unwrap().eval(3, 10).unwrap(), 16);
        assert_eq!(parse(b"(s + x) * 2").unwrap().eval(3, 10).unwrap(), 26);
        assert_eq!(parse(b" 7 % 4 - 1 ").unwrap().eval(0, 0).unwrap(), 2);
    }

    #[test]
    fn bad_programs_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"1 +",
            b"(1",
            b"1)",
            b"y",
            b"99999999999999999999",
            b"1 2",
        ] {
            assert!(
                matches!(parse(bad), Err(CalcError::Parse { .. })),
                "{bad:?}"
            );
        }
        let deep = [b"(".repeat(100), b"1".to_vec(), b")".repeat(100)].concat();
        assert!(parse(&deep).is_err());
        assert!(parse(&vec![b'1'; MAX_CODE + 1]).is_err());
        assert_eq!(
            parse(b"x - 1").unwrap().eval(0, 0),
            Err(CalcError::Overflow)
        );
        assert_eq!(
            parse(b"x / s").unwrap().eval(1, 0),
            Err(CalcError::DivisionByZero)
        );
    }
}
