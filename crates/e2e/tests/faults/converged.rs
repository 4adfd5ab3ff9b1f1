//! The checks after a fault: the install converged, nothing duplicated, its
//! data kept.

use super::*;

/// What the checks after a fault found.
pub struct Converged {
    /// From the start of the wait until the resource was converged.
    pub took: Duration,
    pub workloads: Workloads,
    pub objects: usize,
    pub data: Data,
}

/// After a fault: waits until the install has converged to `values`, then
/// until the cluster's controllers have settled its workloads with no
/// object duplicated, and checks its data against `baseline`.
pub fn converged(cluster: &Tenant, what: &str, values: &Value, baseline: &Data) -> Converged {
    converged_in(cluster, cluster.ns(), what, values, baseline)
}

pub fn converged_in(
    cluster: &Tenant,
    ns: &str,
    what: &str,
    values: &Value,
    baseline: &Data,
) -> Converged {
    let name = name_in(cluster, ns);
    let expected = expected_objects(values, name, ns);
    let (_, took) = wait_for(
        &format!("{what}: the install converged"),
        CONVERGE_TIMEOUT,
        Duration::from_millis(500),
        || Snapshot::take(cluster, Some(ns)).converged(ns, name),
    );
    let ((objects, workloads), _) = wait_for(
        &format!("{what}: exactly the render's objects, the workloads settled"),
        SETTLE_TIMEOUT,
        Duration::from_secs(1),
        || {
            let s = Snapshot::take(cluster, Some(ns));
            s.converged(ns, name)?;
            let objects = s.duplicates(ns, name, &expected, true)?;
            let workloads = s.workloads(ns, name)?;
            Ok((objects, workloads))
        },
    );
    let data = Snapshot::take(cluster, Some(ns)).data(ns);
    let mut problems = data.problems();
    problems.extend(data.changes_since(baseline));
    assert!(
        problems.is_empty(),
        "{what}: the data changed:\n{}before: {}\nafter:  {}",
        indent(&problems.join("\n"), "  "),
        baseline.describe(),
        data.describe()
    );
    eprintln!(
        "[e2e] {what}: converged in {}; {objects} objects, {}; {}",
        secs(took),
        workloads.describe(),
        data.describe()
    );
    Converged {
        took,
        workloads,
        objects,
        data,
    }
}
