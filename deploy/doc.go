// Package deploy holds no code: it is how sockplay runs for a school,
// many nodes behind a proxy. nginx/ is nginx's configuration that routes
// each request to the node its path names; k8s/ the Kubernetes
// manifests (a StatefulSet of nodes, their Services, an Ingress, a
// disruption budget). Its tests check the manifests against the API's
// shape and against sockplay itself (its flags, probes, drain and ids);
// server's TestSchoolBehindNginx runs the nginx configuration.
package deploy
