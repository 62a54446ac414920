//! The embedding table C (V, E) flattened to two coordinates per character for
//! the page's scatter: the dimensions themselves when E ≤ 2, else the first two
//! principal components.

use serde::Serialize;

/// Two coordinates per vocabulary entry, in vocabulary order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Projection {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    /// "dims" or "pca".
    pub method: &'static str,
}

const POWER_ITERATIONS: usize = 200;

pub fn project(c: &[f32], v: usize, e: usize) -> Projection {
    assert_eq!(c.len(), v * e, "C is (V, E)");
    let column = |k: usize| -> Vec<f32> { (0..v).map(|i| if k < e { c[i * e + k] } else { 0.0 }).collect() };
    if e <= 2 {
        return Projection { x: column(0), y: column(1), method: "dims" };
    }
    let mean: Vec<f64> = (0..e).map(|k| (0..v).map(|i| c[i * e + k] as f64).sum::<f64>() / v as f64).collect();
    let centered: Vec<f64> = (0..v * e).map(|j| c[j] as f64 - mean[j % e]).collect();
    let mut cov = vec![0.0f64; e * e];
    for row in centered.chunks_exact(e) {
        for a in 0..e {
            for b in 0..e {
                cov[a * e + b] += row[a] * row[b];
            }
        }
    }
    let first = top_eigenvector(&cov, e);
    let lambda = rayleigh(&cov, &first, e);
    // Deflate: the second component is the top one of what is left.
    for a in 0..e {
        for b in 0..e {
            cov[a * e + b] -= lambda * first[a] * first[b];
        }
    }
    let second = top_eigenvector(&cov, e);
    let along = |dir: &[f64]| -> Vec<f32> {
        centered.chunks_exact(e).map(|row| row.iter().zip(dir).map(|(r, d)| r * d).sum::<f64>() as f32).collect()
    };
    Projection { x: along(&first), y: along(&second), method: "pca" }
}

fn mat_vec(m: &[f64], x: &[f64], n: usize) -> Vec<f64> {
    m.chunks_exact(n).map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum()).collect()
}

fn rayleigh(m: &[f64], x: &[f64], n: usize) -> f64 {
    mat_vec(m, x, n).iter().zip(x).map(|(a, b)| a * b).sum()
}

/// Power iteration from a fixed start, with the sign chosen so that the largest
/// entry is positive: the picture does not flip between refreshes.
fn top_eigenvector(m: &[f64], n: usize) -> Vec<f64> {
    let mut x: Vec<f64> = (0..n).map(|i| 1.0 + i as f64 / n as f64).collect();
    for _ in 0..POWER_ITERATIONS {
        let y = mat_vec(m, &x, n);
        let norm = y.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm == 0.0 {
            break;
        }
        x = y.iter().map(|a| a / norm).collect();
    }
    let big = x.iter().cloned().fold(0.0f64, |acc, a| if a.abs() > acc.abs() { a } else { acc });
    if big < 0.0 {
        x.iter_mut().for_each(|a| *a = -*a);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_embeddings_are_shown_as_they_are() {
        let p = project(&[1.0, 2.0, 3.0, 4.0], 2, 2);
        assert_eq!((p.x, p.y, p.method), (vec![1.0, 3.0], vec![2.0, 4.0], "dims"));
        let p = project(&[5.0, 6.0], 2, 1);
        assert_eq!((p.x, p.y), (vec![5.0, 6.0], vec![0.0, 0.0]));
    }

    #[test]
    fn pca_finds_the_spread_directions() {
        // Points spread 10 along (1,1,0)/√2 and 1 along z; nothing along (1,-1,0).
        let pts = [(-1.0f32, -0.5), (0.0, 1.0), (1.0, -0.5), (2.0, 0.0)];
        let c: Vec<f32> = pts.iter().flat_map(|&(a, z)| [10.0 * a, 10.0 * a, z]).collect();
        let p = project(&c, 4, 3);
        assert_eq!(p.method, "pca");
        let scale = 10.0 * 2f32.sqrt();
        for (i, &(a, z)) in pts.iter().enumerate() {
            assert!((p.x[i] - scale * (a - 0.5)).abs() < 1e-3, "{:?}", p.x);
            assert!((p.y[i].abs() - z.abs()).abs() < 1e-3, "{:?}", p.y);
        }
    }
}
