//! HorizontalPodAutoscalers and PodDisruptionBudgets.

use super::*;

impl Checks {
    pub(super) fn autoscaler(&mut self, id: &str, up: &Value, mine: &Value) {
        for field in ["minReplicas", "maxReplicas", "metrics"] {
            self.same(
                Category::Autoscaling,
                format!("{id} {field}"),
                &up["spec"][field],
                &mine["spec"][field],
            );
        }
    }

    pub(super) fn disruption_budget(&mut self, id: &str, up: &Value, mine: &Value) {
        for field in ["minAvailable", "maxUnavailable"] {
            if !up["spec"][field].is_null() {
                self.same(
                    Category::Disruption,
                    format!("{id} {field}"),
                    &up["spec"][field],
                    &mine["spec"][field],
                );
            }
        }
    }
}
