//! The resources the emulator serves, described once: routing, discovery documents, error
//! wording and RBAC classification all read this table so they cannot drift apart.

use crate::status::GroupResource;

/// Which stored collection (or computed view, for NodeMetrics) a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceId {
    Namespace,
    Node,
    ConfigMap,
    Secret,
    Event,
    Deployment,
    HorizontalPodAutoscaler,
    /// KEDA's custom resource, served as its CustomResourceDefinition would be.
    ScaledObject,
    NodeMetrics,
    /// Not stored: answered from the request (`kubectl auth can-i`).
    SelfSubjectAccessReview,
}

#[derive(Debug)]
pub struct ResourceDef {
    pub id: ResourceId,
    pub gr: GroupResource,
    pub version: &'static str,
    pub kind: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// The verbs the emulator implements; others answer 405 as the API server does for
    /// verbs a resource's storage lacks.
    pub verbs: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Served through a CustomResourceDefinition: no strategic merge patch.
    pub custom: bool,
    /// Has a `status` subresource (writes to the main resource keep the stored status).
    pub status: bool,
}

impl PartialEq for ResourceDef {
    fn eq(&self, other: &ResourceDef) -> bool {
        self.id == other.id
    }
}

impl ResourceDef {
    pub fn api_version(&self) -> String {
        if self.gr.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.gr.group, self.version)
        }
    }

    pub fn allows(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}

pub static NODES: ResourceDef = ResourceDef {
    id: ResourceId::Node,
    gr: GroupResource {
        group: "",
        resource: "nodes",
    },
    version: "v1",
    kind: "Node",
    singular: "node",
    namespaced: false,
    short_names: &["no"],
    verbs: &["get", "list"],
    categories: &[],
    custom: false,
    status: false,
};

pub static NAMESPACES: ResourceDef = ResourceDef {
    id: ResourceId::Namespace,
    gr: GroupResource {
        group: "",
        resource: "namespaces",
    },
    version: "v1",
    kind: "Namespace",
    singular: "namespace",
    namespaced: false,
    short_names: &["ns"],
    verbs: &["create", "get", "list"],
    categories: &[],
    custom: false,
    status: false,
};

pub static CONFIGMAPS: ResourceDef = ResourceDef {
    id: ResourceId::ConfigMap,
    gr: GroupResource {
        group: "",
        resource: "configmaps",
    },
    version: "v1",
    kind: "ConfigMap",
    singular: "configmap",
    namespaced: true,
    short_names: &["cm"],
    verbs: &["create", "delete", "get", "list", "patch", "update"],
    categories: &[],
    custom: false,
    status: false,
};

pub static SECRETS: ResourceDef = ResourceDef {
    id: ResourceId::Secret,
    gr: GroupResource {
        group: "",
        resource: "secrets",
    },
    version: "v1",
    kind: "Secret",
    singular: "secret",
    namespaced: true,
    short_names: &[],
    verbs: &["get", "list"],
    categories: &[],
    custom: false,
    status: false,
};

pub static EVENTS: ResourceDef = ResourceDef {
    id: ResourceId::Event,
    gr: GroupResource {
        group: "",
        resource: "events",
    },
    version: "v1",
    kind: "Event",
    singular: "event",
    namespaced: true,
    short_names: &["ev"],
    verbs: &["create", "delete", "get", "list", "patch", "update"],
    categories: &[],
    custom: false,
    status: false,
};

pub static DEPLOYMENTS: ResourceDef = ResourceDef {
    id: ResourceId::Deployment,
    gr: GroupResource {
        group: "apps",
        resource: "deployments",
    },
    version: "v1",
    kind: "Deployment",
    singular: "deployment",
    namespaced: true,
    short_names: &["deploy"],
    verbs: &["get", "list", "patch", "update"],
    categories: &["all"],
    custom: false,
    status: false,
};

pub static HPAS: ResourceDef = ResourceDef {
    id: ResourceId::HorizontalPodAutoscaler,
    gr: GroupResource {
        group: "autoscaling",
        resource: "horizontalpodautoscalers",
    },
    version: "v2",
    kind: "HorizontalPodAutoscaler",
    singular: "horizontalpodautoscaler",
    namespaced: true,
    short_names: &["hpa"],
    verbs: &["create", "delete", "get", "list", "patch", "update"],
    categories: &["all"],
    custom: false,
    status: true,
};

pub static SCALED_OBJECTS: ResourceDef = ResourceDef {
    id: ResourceId::ScaledObject,
    gr: GroupResource {
        group: "keda.sh",
        resource: "scaledobjects",
    },
    version: "v1alpha1",
    kind: "ScaledObject",
    singular: "scaledobject",
    namespaced: true,
    short_names: &["so"],
    verbs: &["create", "delete", "get", "list", "patch", "update"],
    categories: &[],
    custom: true,
    status: true,
};

pub static NODE_METRICS: ResourceDef = ResourceDef {
    id: ResourceId::NodeMetrics,
    gr: GroupResource {
        group: "metrics.k8s.io",
        resource: "nodes",
    },
    version: "v1beta1",
    kind: "NodeMetrics",
    singular: "",
    namespaced: false,
    short_names: &[],
    verbs: &["get", "list"],
    categories: &[],
    custom: false,
    status: false,
};

pub static SELF_SUBJECT_ACCESS_REVIEWS: ResourceDef = ResourceDef {
    id: ResourceId::SelfSubjectAccessReview,
    gr: GroupResource {
        group: "authorization.k8s.io",
        resource: "selfsubjectaccessreviews",
    },
    version: "v1",
    kind: "SelfSubjectAccessReview",
    singular: "selfsubjectaccessreview",
    namespaced: false,
    short_names: &[],
    verbs: &["create"],
    categories: &[],
    custom: false,
    status: false,
};

/// Verbs of the subresources served, `deployments/scale` and `<resource>/status`.
pub const SUBRESOURCE_VERBS: &[&str] = &["get", "patch", "update"];

pub static ALL: [&ResourceDef; 10] = [
    &NODES,
    &CONFIGMAPS,
    &SECRETS,
    &EVENTS,
    &NAMESPACES,
    &DEPLOYMENTS,
    &SELF_SUBJECT_ACCESS_REVIEWS,
    &HPAS,
    &SCALED_OBJECTS,
    &NODE_METRICS,
];

/// The resource a group, version and plural name refer to.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    ALL.iter()
        .copied()
        .find(|d| d.gr.group == group && d.version == version && d.gr.resource == plural)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_distinguishes_groups() {
        assert_eq!(lookup("", "v1", "nodes").unwrap().id, ResourceId::Node);
        assert_eq!(
            lookup("metrics.k8s.io", "v1beta1", "nodes").unwrap().id,
            ResourceId::NodeMetrics
        );
        assert!(lookup("apps", "v1", "nodes").is_none());
        assert_eq!(DEPLOYMENTS.api_version(), "apps/v1");
        assert_eq!(CONFIGMAPS.api_version(), "v1");
    }
}
