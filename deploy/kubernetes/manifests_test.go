package kubernetes

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// KEDA's and kustomize's kinds are not in k8s.io/api: these hold the fields
// the manifests use, so that strict decoding refuses any other (a typo, or a
// field of another version).

type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			Name string `json:"name"`
		} `json:"scaleTargetRef"`
		PollingInterval int32 `json:"pollingInterval"`
		CooldownPeriod  int32 `json:"cooldownPeriod"`
		MinReplicaCount int32 `json:"minReplicaCount"`
		MaxReplicaCount int32 `json:"maxReplicaCount"`
		Advanced        struct {
			HorizontalPodAutoscalerConfig struct {
				Behavior autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior"`
			} `json:"horizontalPodAutoscalerConfig"`
		} `json:"advanced"`
		Triggers []struct {
			Type              string            `json:"type"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef struct {
				Name string `json:"name"`
			} `json:"authenticationRef"`
		} `json:"triggers"`
	} `json:"spec"`
}

type triggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef"`
	} `json:"spec"`
}

type kustomization struct {
	metav1.TypeMeta `json:",inline"`
	Namespace       string           `json:"namespace"`
	Resources       []string         `json:"resources"`
	Images          []kustomizeImage `json:"images"`
}

type kustomizeImage struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
}

// manifests is every object of the directory, decoded.
type manifests struct {
	deployments map[string]*appsv1.Deployment
	services    []*corev1.Service
	pdbs        []*policyv1.PodDisruptionBudget
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	pvcs        map[string]*corev1.PersistentVolumeClaim
	scaled      []*scaledObject
	triggerAuth map[string]*triggerAuthentication
	kustomize   *kustomization
	files       map[string]int // file name: objects in it
}

// decodeStrict decodes one YAML document into out, refusing unknown and
// duplicate fields.
func decodeStrict(doc []byte, out any) error {
	return yaml.UnmarshalStrict(doc, out)
}

func load(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{deployments: map[string]*appsv1.Deployment{}, configMaps: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}, pvcs: map[string]*corev1.PersistentVolumeClaim{},
		triggerAuth: map[string]*triggerAuthentication{}, files: map[string]int{}}
	paths, err := filepath.Glob("*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			where := fmt.Sprintf("%s, document %d", path, i+1)
			if err := m.add([]byte(doc)); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			m.files[path]++
		}
	}
	return m
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func (m *manifests) add(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		return decodeTo(doc, func(d *appsv1.Deployment) { m.deployments[d.Name] = d })
	case "v1 Service":
		return decodeTo(doc, func(s *corev1.Service) { m.services = append(m.services, s) })
	case "policy/v1 PodDisruptionBudget":
		return decodeTo(doc, func(p *policyv1.PodDisruptionBudget) { m.pdbs = append(m.pdbs, p) })
	case "v1 ConfigMap":
		return decodeTo(doc, func(c *corev1.ConfigMap) { m.configMaps[c.Name] = c })
	case "v1 Secret":
		return decodeTo(doc, func(s *corev1.Secret) { m.secrets[s.Name] = s })
	case "v1 PersistentVolumeClaim":
		return decodeTo(doc, func(p *corev1.PersistentVolumeClaim) { m.pvcs[p.Name] = p })
	case "v1 Namespace":
		return decodeTo(doc, func(*corev1.Namespace) {})
	case "keda.sh/v1alpha1 ScaledObject":
		return decodeTo(doc, func(s *scaledObject) { m.scaled = append(m.scaled, s) })
	case "keda.sh/v1alpha1 TriggerAuthentication":
		return decodeTo(doc, func(a *triggerAuthentication) { m.triggerAuth[a.Name] = a })
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		return decodeTo(doc, func(k *kustomization) { m.kustomize = k })
	default:
		return fmt.Errorf("kind %q of %q is not one the test knows: add it", tm.Kind, tm.APIVersion)
	}
}

// decodeTo decodes doc strictly into a new T and hands it to keep.
func decodeTo[T any](doc []byte, keep func(*T)) error {
	v := new(T)
	if err := decodeStrict(doc, v); err != nil {
		return err
	}
	keep(v)
	return nil
}

// TestStrictDecodingRefusesUnknownFields checks the check: a misspelt field
// must fail to decode.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		into any
	}{
		{"deployment", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 1\n  replica: 2\n", &appsv1.Deployment{}},
		{"probe", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n    - name: c\n      readinessProbe: {httpGet: {path: /healthz, prot: 80}}\n", &corev1.Pod{}},
		{"scaled object", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec: {maxReplicas: 3}\n", &scaledObject{}},
		{"duplicate", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {A: '1', A: '2'}\n", &corev1.ConfigMap{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := decodeStrict([]byte(tc.doc), tc.into); err == nil {
				t.Fatal("decoded without error")
			}
		})
	}
}

// TestManifests decodes every manifest strictly and checks what ties them
// together.
func TestManifests(t *testing.T) {
	m := load(t)
	if t.Failed() {
		return
	}
	roles := map[string]string{"watch": "", "worker": "", "serve": "", "hl7": ""}
	for name, d := range m.deployments {
		t.Run(name, func(t *testing.T) { checkDeployment(t, m, d, roles) })
	}
	for role, dep := range roles {
		if dep == "" {
			t.Errorf("no Deployment runs `paperchart %s`", role)
		}
	}

	for _, s := range m.services {
		if n := m.selected(s.Spec.Selector); len(n) != 1 {
			t.Errorf("Service %s selects %v, want one Deployment", s.Name, n)
		}
		for _, p := range s.Spec.Ports {
			d := m.deployments[firstOr(m.selected(s.Spec.Selector), "")]
			if d != nil && !hasPort(d.Spec.Template.Spec.Containers[0], p.TargetPort.String()) {
				t.Errorf("Service %s targets port %s, which %s does not name", s.Name, p.TargetPort.String(), d.Name)
			}
		}
	}
	for _, p := range m.pdbs {
		sel, err := metav1.LabelSelectorAsMap(p.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		n := m.selected(sel)
		if len(n) != 1 {
			t.Errorf("PodDisruptionBudget %s selects %v, want one Deployment", p.Name, n)
		}
		if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
			t.Errorf("PodDisruptionBudget %s: set one of minAvailable and maxUnavailable", p.Name)
		}
		if d := m.deployments[firstOr(n, "")]; d != nil && p.Spec.MinAvailable != nil && d.Spec.Replicas != nil &&
			p.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
			t.Errorf("PodDisruptionBudget %s keeps %d of %d pods: no node could ever be drained", p.Name, p.Spec.MinAvailable.IntValue(), *d.Spec.Replicas)
		}
	}
	for _, role := range []string{"worker", "serve", "hl7"} {
		if !slices.ContainsFunc(m.pdbs, func(p *policyv1.PodDisruptionBudget) bool {
			return p.Spec.Selector.MatchLabels["app.kubernetes.io/component"] == role
		}) {
			t.Errorf("no PodDisruptionBudget for %s", role)
		}
	}

	checkScaling(t, m, roles["worker"])
	checkKustomization(t, m)
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

// selected names the Deployments whose pods the selector picks.
func (m *manifests) selected(sel map[string]string) []string {
	var out []string
	for name, d := range m.deployments {
		if len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func hasPort(c corev1.Container, port string) bool {
	for _, p := range c.Ports {
		if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
			return true
		}
	}
	return false
}

func checkDeployment(t *testing.T, m *manifests, d *appsv1.Deployment, roles map[string]string) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		t.Fatalf("selector: %v", err)
	}
	if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("selector %s does not match the pod labels %v", sel, d.Spec.Template.Labels)
	}
	ps := d.Spec.Template.Spec
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(ps.Containers))
	}
	c := ps.Containers[0]
	if len(c.Args) != 1 {
		t.Fatalf("args %v: want the role alone", c.Args)
	}
	role := c.Args[0]
	if _, ok := roles[role]; !ok {
		t.Fatalf("runs `paperchart %s`, not a role", role)
	}
	if roles[role] != "" {
		t.Errorf("`paperchart %s` runs in %s too", role, roles[role])
	}
	roles[role] = d.Name

	// Probes: readiness on /healthz (the dependencies), liveness on /livez,
	// on a port the container names.
	for what, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		want := map[string]string{"readiness": "/healthz", "liveness": "/livez"}[what]
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", what)
			continue
		}
		if p.HTTPGet.Path != want {
			t.Errorf("%s probe on %s, want %s", what, p.HTTPGet.Path, want)
		}
		if !hasPort(c, p.HTTPGet.Port.String()) {
			t.Errorf("%s probe on port %s, which the container does not name", what, p.HTTPGet.Port.String())
		}
		// /healthz waits up to 5 s for each dependency.
		if what == "readiness" && p.TimeoutSeconds <= 5 {
			t.Errorf("readiness timeout %d s: /healthz may take 5 s", p.TimeoutSeconds)
		}
	}

	// Every variable the pod gets, from the manifests or from Secrets.
	vars := map[string]bool{}
	for _, e := range c.Env {
		vars[e.Name] = true
	}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm := m.configMaps[ef.ConfigMapRef.Name]
			if cm == nil {
				t.Errorf("envFrom ConfigMap %s is not in the manifests", ef.ConfigMapRef.Name)
				continue
			}
			for k := range cm.Data {
				vars[k] = true
			}
		case ef.SecretRef != nil:
			s := m.secrets[ef.SecretRef.Name]
			if s == nil {
				t.Errorf("envFrom Secret %s is not in secrets.example.yaml", ef.SecretRef.Name)
				continue
			}
			for k := range s.StringData {
				vars[k] = true
			}
		}
	}
	needs := map[string][]string{
		"watch":  {"PAPERCHART_DATABASE_URL", "PAPERCHART_REDIS_ADDR", "PAPERCHART_S3_ENDPOINT", "PAPERCHART_S3_ACCESS_KEY", "PAPERCHART_S3_SECRET_KEY", "PAPERCHART_DROP", "PAPERCHART_HEALTH_ADDR"},
		"worker": {"PAPERCHART_DATABASE_URL", "PAPERCHART_REDIS_ADDR", "PAPERCHART_S3_ENDPOINT", "PAPERCHART_S3_ACCESS_KEY", "PAPERCHART_S3_SECRET_KEY", "PAPERCHART_WORK_DIR", "PAPERCHART_HEALTH_ADDR", "OMP_THREAD_LIMIT"},
		"serve":  {"PAPERCHART_DATABASE_URL", "PAPERCHART_REDIS_ADDR", "PAPERCHART_S3_ENDPOINT", "PAPERCHART_S3_ACCESS_KEY", "PAPERCHART_S3_SECRET_KEY", "PAPERCHART_HTTP_ADDR"},
		"hl7":    {"PAPERCHART_DATABASE_URL", "PAPERCHART_HL7_ADDR", "PAPERCHART_HEALTH_ADDR"},
	}[role]
	for _, v := range needs {
		if !vars[v] {
			t.Errorf("`paperchart %s` gets no %s", role, v)
		}
	}
	known := knownVariables(t)
	for v := range vars {
		if strings.HasPrefix(v, "PAPERCHART_") && !known[v] {
			t.Errorf("%s is not a variable paperchart reads", v)
		}
	}
	// The listeners bind where the probes and Services reach them.
	for _, v := range []string{"PAPERCHART_HTTP_ADDR", "PAPERCHART_HEALTH_ADDR", "PAPERCHART_HL7_ADDR"} {
		if addr := m.configMaps["paperchart-config"].Data[v]; addr != "" && strings.HasPrefix(addr, "127.") {
			t.Errorf("%s=%s listens on loopback only: probes cannot reach it", v, addr)
		}
	}

	// Resources: a memory request and limit everywhere; the worker's from
	// its measured peak RSS (471 MiB with 2 slots).
	req, lim := c.Resources.Requests.Memory(), c.Resources.Limits.Memory()
	if req.IsZero() || lim.IsZero() || req.Cmp(*lim) > 0 {
		t.Errorf("memory request %s, limit %s", req, lim)
	}
	if c.Resources.Requests.Cpu().IsZero() {
		t.Error("no CPU request")
	}
	if role == "worker" {
		if req.Cmp(resource.MustParse("471Mi")) < 0 {
			t.Errorf("worker memory request %s is below its measured peak RSS, 471 MiB", req)
		}
		slots := 0
		for _, e := range c.Env {
			if e.Name == "PAPERCHART_CONCURRENCY" {
				fmt.Sscan(e.Value, &slots)
			}
		}
		if slots == 0 || c.Resources.Requests.Cpu().MilliValue() < int64(slots)*1000 {
			t.Errorf("worker: %d task slots on a CPU request of %s: each slot keeps a core busy", slots, c.Resources.Requests.Cpu())
		}
		// SIGKILL must come after the worker's 60 s shutdown timeout.
		if ps.TerminationGracePeriodSeconds == nil || *ps.TerminationGracePeriodSeconds <= 60 {
			t.Errorf("worker terminationGracePeriodSeconds %v: the worker takes up to 60 s to stop", ps.TerminationGracePeriodSeconds)
		}
		if d.Spec.Replicas != nil {
			t.Error("worker sets replicas: the ScaledObject owns them")
		}
	}

	// Restricted pod security.
	if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
		t.Error("pods must run as non-root")
	}
	if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("container must drop all capabilities and refuse privilege escalation")
	}

	// Mounts name volumes of the pod; claims exist.
	vols := map[string]corev1.Volume{}
	for _, v := range ps.Volumes {
		vols[v.Name] = v
		if v.PersistentVolumeClaim != nil && m.pvcs[v.PersistentVolumeClaim.ClaimName] == nil {
			t.Errorf("volume %s claims %s, which is not in the manifests", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}
	for _, vm := range c.VolumeMounts {
		if _, ok := vols[vm.Name]; !ok {
			t.Errorf("mount %s names no volume", vm.Name)
		}
	}
	if role == "watch" {
		cfg := m.configMaps["paperchart-config"].Data["PAPERCHART_DROP"]
		if !slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool {
			return vols[vm.Name].PersistentVolumeClaim != nil && strings.HasPrefix(cfg, vm.MountPath+"/")
		}) {
			t.Errorf("the drop folder %s is not on the shared volume", cfg)
		}
	}
}

// knownVariables are the PAPERCHART_* names in paperchart's source.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../../cmd/paperchart/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("cmd/paperchart sources: %v", err)
	}
	known := map[string]bool{}
	re := regexp.MustCompile(`"(PAPERCHART_[A-Z0-9_]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, mm := range re.FindAllSubmatch(data, -1) {
			known[string(mm[1])] = true
		}
	}
	return known
}

func checkScaling(t *testing.T, m *manifests, worker string) {
	if len(m.scaled) != 1 {
		t.Fatalf("%d ScaledObjects, want 1 (the worker)", len(m.scaled))
	}
	s := m.scaled[0]
	if s.Spec.ScaleTargetRef.Name != worker || worker == "" {
		t.Errorf("ScaledObject scales %q, the worker Deployment is %q", s.Spec.ScaleTargetRef.Name, worker)
	}
	if s.Spec.MinReplicaCount < 1 || s.Spec.MaxReplicaCount < s.Spec.MinReplicaCount {
		t.Errorf("replicas %d..%d: keep at least one worker (it runs the reconciler)", s.Spec.MinReplicaCount, s.Spec.MaxReplicaCount)
	}
	// The lists asynq keeps pending tasks in: asynq:{QUEUE}:pending, for the
	// pipeline's stages (workers/queue.go).
	list := regexp.MustCompile(`^asynq:\{(split|ocr|assemble|file)\}:pending$`)
	lists := map[string]bool{}
	for _, tr := range s.Spec.Triggers {
		if tr.Type != "redis" {
			t.Errorf("trigger type %q", tr.Type)
			continue
		}
		if !list.MatchString(tr.Metadata["listName"]) {
			t.Errorf("trigger on %q, not an asynq queue's pending list", tr.Metadata["listName"])
		}
		lists[tr.Metadata["listName"]] = true
		if tr.Metadata["address"] != m.configMaps["paperchart-config"].Data["PAPERCHART_REDIS_ADDR"] {
			t.Errorf("trigger watches Redis %s, the pipeline uses %s", tr.Metadata["address"], m.configMaps["paperchart-config"].Data["PAPERCHART_REDIS_ADDR"])
		}
		var n int
		if _, err := fmt.Sscan(tr.Metadata["listLength"], &n); err != nil || n < 1 {
			t.Errorf("listLength %q", tr.Metadata["listLength"])
		}
		a := m.triggerAuth[tr.AuthenticationRef.Name]
		if a == nil {
			t.Errorf("TriggerAuthentication %s is not in the manifests", tr.AuthenticationRef.Name)
			continue
		}
		for _, ref := range a.Spec.SecretTargetRef {
			if sec := m.secrets[ref.Name]; sec == nil || sec.StringData[ref.Key] == "" {
				t.Errorf("TriggerAuthentication %s reads %s/%s, not in secrets.example.yaml", a.Name, ref.Name, ref.Key)
			}
		}
	}
	if !lists["asynq:{ocr}:pending"] {
		t.Error("the worker is not scaled on the OCR queue, where pages wait")
	}
}

func checkKustomization(t *testing.T, m *manifests) {
	k := m.kustomize
	if k == nil {
		t.Fatal("no kustomization.yaml")
	}
	for _, r := range k.Resources {
		if m.files[r] == 0 {
			t.Errorf("kustomization lists %s, which holds no manifest", r)
		}
	}
	for f := range m.files {
		if f != "kustomization.yaml" && f != "secrets.example.yaml" && !slices.Contains(k.Resources, f) {
			t.Errorf("%s is not in kustomization.yaml", f)
		}
	}
	if slices.Contains(k.Resources, "secrets.example.yaml") {
		t.Error("kustomization applies the example Secrets (CHANGE-ME values)")
	}
	for _, d := range m.deployments {
		img := d.Spec.Template.Spec.Containers[0].Image
		if !slices.ContainsFunc(k.Images, func(i kustomizeImage) bool {
			return strings.HasPrefix(img, i.Name+":")
		}) {
			t.Errorf("%s runs image %s, which kustomization.yaml does not set", d.Name, img)
		}
	}
}
