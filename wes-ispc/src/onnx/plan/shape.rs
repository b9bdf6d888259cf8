//! Shapes of runtime values: the dimensions of one row (the batch dimension is implicit), and
//! the index tables that reorder a row (`Transpose`, `Gather`) or broadcast a constant over it.

use std::fmt;

/// Most dimensions of a row (a value has at most one more: the batch).
pub(crate) const MAX_RANK: usize = 4;

/// The dimensions of one row of a value: `[]` for a value of shape `[N]`, `[F]` for
/// `[N, F]`, `[C, H, W]` for a batch of images `[N, C, H, W]`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dims {
    rank: u8,
    d: [usize; MAX_RANK],
}

impl Dims {
    /// The row shape of a value `[N]`: one element per row.
    pub const SCALAR: Dims = Dims {
        rank: 0,
        d: [0; MAX_RANK],
    };

    /// `dims`, if there are at most [`MAX_RANK`] of them, all positive.
    pub fn new(dims: &[usize]) -> Option<Dims> {
        if dims.len() > MAX_RANK || dims.contains(&0) {
            return None;
        }
        let mut d = [0; MAX_RANK];
        d[..dims.len()].copy_from_slice(dims);
        Some(Dims {
            rank: dims.len() as u8,
            d,
        })
    }

    /// A row of `n` features, `[N, n]`.
    pub fn row(n: usize) -> Dims {
        Dims {
            rank: 1,
            d: [n, 0, 0, 0],
        }
    }

    /// The dimensions.
    pub fn as_slice(&self) -> &[usize] {
        &self.d[..self.rank as usize]
    }

    /// How many dimensions a row has.
    pub fn rank(&self) -> usize {
        self.rank as usize
    }

    /// Elements per row (saturating: limits are checked against it).
    pub fn elements(&self) -> usize {
        self.as_slice()
            .iter()
            .fold(1usize, |a, &b| a.saturating_mul(b))
    }
}

impl fmt::Debug for Dims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[N")?;
        for d in self.as_slice() {
            write!(f, ", {d}")?;
        }
        write!(f, "]")
    }
}

/// Row-major strides of `dims`.
pub(crate) fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}

/// Calls `f` with every multi-index of `dims` in row-major order.
pub(crate) fn for_each_index(dims: &[usize], mut f: impl FnMut(&[usize])) {
    let n: usize = dims.iter().product();
    let mut idx = vec![0; dims.len()];
    for _ in 0..n {
        f(&idx);
        for k in (0..dims.len()).rev() {
            idx[k] += 1;
            if idx[k] < dims[k] {
                break;
            }
            idx[k] = 0;
        }
    }
}

/// A constant of shape `cdims` broadcast (NumPy rules, aligned on the right) over rows of
/// `row`, laid out as one full row; `None` if the shapes do not broadcast without mixing rows.
pub(crate) fn broadcast_row(values: &[f32], cdims: &[usize], row: &[usize]) -> Option<Vec<f32>> {
    // The full value is [N, row...]: the constant may have as many dimensions, the first of
    // which (aligned with the batch) must be 1.
    if cdims.len() > row.len() + 1 {
        return None;
    }
    if cdims.len() == row.len() + 1 && cdims[0] != 1 {
        return None;
    }
    let skip = cdims.len().saturating_sub(row.len());
    let cd = &cdims[skip..];
    let offset = row.len() - cd.len();
    for (i, &c) in cd.iter().enumerate() {
        if c != 1 && c != row[offset + i] {
            return None;
        }
    }
    let cs = strides(cd);
    let mut out = Vec::with_capacity(row.iter().product());
    for_each_index(row, |idx| {
        let at: usize = cd
            .iter()
            .enumerate()
            .map(|(i, &c)| if c == 1 { 0 } else { idx[offset + i] * cs[i] })
            .sum();
        out.push(values[at]);
    });
    Some(out)
}

/// The index table of a transposition of a row: output element `i` is input element
/// `table[i]`; `perm` permutes the row's dimensions.
pub(crate) fn transpose_table(dims: &[usize], perm: &[usize]) -> Vec<u32> {
    let s = strides(dims);
    let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
    let mut table = Vec::with_capacity(out_dims.iter().product());
    for_each_index(&out_dims, |idx| {
        let at: usize = idx.iter().zip(perm).map(|(&i, &p)| i * s[p]).sum();
        table.push(at as u32);
    });
    table
}

/// The index table of a `Gather` along row axis `axis` with the (already wrapped) `indices`
/// of shape `idims`; returns the output row dimensions too.
pub(crate) fn gather_table(
    dims: &[usize],
    axis: usize,
    indices: &[usize],
    idims: &[usize],
) -> (Vec<usize>, Vec<u32>) {
    let s = strides(dims);
    let mut out_dims = dims[..axis].to_vec();
    out_dims.extend_from_slice(idims);
    out_dims.extend_from_slice(&dims[axis + 1..]);
    let mut table = Vec::with_capacity(out_dims.iter().product());
    let ik = idims.len();
    let is = strides(idims);
    for_each_index(&out_dims, |idx| {
        let pick: usize = idx[axis..axis + ik]
            .iter()
            .zip(&is)
            .map(|(i, s)| i * s)
            .sum();
        let mut at = indices[pick] * s[axis];
        for (k, &i) in idx[..axis].iter().enumerate() {
            at += i * s[k];
        }
        for (k, &i) in idx[axis + ik..].iter().enumerate() {
            at += i * s[axis + 1 + k];
        }
        table.push(at as u32);
    });
    (out_dims, table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        // A per-channel constant [C, 1, 1] over [C, H, W] rows.
        let row = [2, 2, 3];
        let b = broadcast_row(&[10.0, 20.0], &[2, 1, 1], &row).unwrap();
        assert_eq!(b, [[10.0; 6], [20.0; 6]].concat());
        // A last-axis constant [W].
        let b = broadcast_row(&[1.0, 2.0, 3.0], &[3], &row).unwrap();
        assert_eq!(b, [1.0, 2.0, 3.0].repeat(4));
        // A leading batch dimension of one.
        assert!(broadcast_row(&[1.0, 2.0], &[1, 2], &[2]).is_some());
        assert!(broadcast_row(&[1.0, 2.0, 3.0, 4.0], &[2, 2], &[2]).is_none());
        assert!(broadcast_row(&[1.0, 2.0], &[2], &[3]).is_none());
    }

    #[test]
    fn transposition_and_gather_tables() {
        // [2, 3] transposed: element (j, i) of the output is (i, j) of the input.
        assert_eq!(transpose_table(&[2, 3], &[1, 0]), [0, 3, 1, 4, 2, 5]);
        // Columns 2 and 0 of a [2, 3] row.
        let (dims, t) = gather_table(&[2, 3], 1, &[2, 0], &[2]);
        assert_eq!(dims, [2, 2]);
        assert_eq!(t, [2, 0, 5, 3]);
        // Scalar index: the axis goes away.
        let (dims, t) = gather_table(&[2, 3], 0, &[1], &[]);
        assert_eq!(dims, [3]);
        assert_eq!(t, [3, 4, 5]);
    }
}
