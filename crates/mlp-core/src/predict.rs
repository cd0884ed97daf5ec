//! Using a trained network: the predicted class of each sample, and the error rate against labels.

use crate::error::{check_shape, Result};
use crate::{Float, Mlp, MlpError};
use faer::MatRef;

impl<T: Float> Mlp<T> {
    /// The predicted class (arg-max of the probabilities) of every sample of the last forward pass,
    /// written into `classes` (length m).
    pub fn predictions_into(&self, classes: &mut [usize]) -> Result<()> {
        let p = self.probabilities()?;
        check_shape(
            || "predictions buffer".into(),
            (p.ncols(), 1),
            (classes.len(), 1),
        )?;
        for (j, class) in classes.iter_mut().enumerate() {
            let column = p.col(j);
            let mut best = 0;
            for i in 1..column.nrows() {
                if column[i] > column[best] {
                    best = i;
                }
            }
            *class = best;
        }
        Ok(())
    }

    /// The predicted class of every sample of `x` `(n_inputs, m)`.
    pub fn predict(&mut self, x: MatRef<'_, T>) -> Result<Vec<usize>> {
        self.propagate(x)?;
        let mut classes = vec![0; x.ncols()];
        self.predictions_into(&mut classes)?;
        Ok(classes)
    }

    /// The fraction of samples of `x` whose predicted class differs from `labels`.
    pub fn error_rate<L: Copy + Into<usize>>(
        &mut self,
        x: MatRef<'_, T>,
        labels: &[L],
    ) -> Result<f64> {
        check_shape(
            || "error_rate labels".into(),
            (x.ncols(), 1),
            (labels.len(), 1),
        )?;
        let n_classes = self.n_classes();
        if let Some((index, label)) = labels
            .iter()
            .map(|&l| l.into())
            .enumerate()
            .find(|&(_, l)| l >= n_classes)
        {
            return Err(MlpError::LabelOutOfRange {
                index,
                label,
                n_classes,
            });
        }
        let predicted = self.predict(x)?;
        let wrong = predicted
            .iter()
            .zip(labels)
            .filter(|&(&p, &l)| p != l.into())
            .count();
        Ok(wrong as f64 / labels.len() as f64)
    }
}
