import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PATH_METADATA } from 'src/core/database/driver-internals';
import type { HttpAdapterHost } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { parseAllDocuments } from 'yaml';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { KNOWN_VARIABLES, loadConfig } from 'src/core/config/boards-config';
import { UNPREFIXED_ROUTES } from 'src/main';
import { HealthController } from 'src/modules/health/health.controller';
import { HttpMetricsHook } from 'src/modules/metrics/http-metrics.hook';
import { MetricsService } from 'src/core/metrics/metrics.service';
import { REPO_ROOT } from 'test/support/http';

/**
 * The deployment artifacts against the Kubernetes schemas and against the application itself:
 * every YAML document in k8s/ validates with kubernetes-models (built-in kinds) or
 * @kubernetes-models/prometheus-operator (ServiceMonitor, PrometheusRule); the CloudNativePG
 * Cluster, which has no schema package, is checked for its shape and cross-references. Probe
 * paths, ports, Secret keys, selectors and metric names are compared with what the app serves,
 * reads and exports, and the compose files and the Dockerfile are checked the same way. No
 * database or server needed (the name is under integration because it reads the whole repo).
 */

type Json = Record<string, unknown>;

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface Document {
  readonly file: string;
  readonly object: KubeObject;
}

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: object) => Validatable;

const K8S_DIR = join(REPO_ROOT, 'k8s');
const APP_LABELS = { 'app.kubernetes.io/name': 'boards-api', 'app.kubernetes.io/component': 'api' };
const DNS_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Schema packages by apiVersion: the model classes are exported under their kind. */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'monitoring.coreos.com/v1': monitoringV1,
};

/**
 * Fields of a CloudNativePG `Cluster` spec (postgresql.cnpg.io/v1) that this repository uses or
 * may use; no npm package ships the CRD's schema, so a misspelt field is caught here instead.
 */
const CNPG_CLUSTER_SPEC_FIELDS = new Set([
  'affinity',
  'backup',
  'bootstrap',
  'description',
  'enablePDB',
  'enableSuperuserAccess',
  'env',
  'imageName',
  'imagePullPolicy',
  'inheritedMetadata',
  'instances',
  'managed',
  'maxSyncReplicas',
  'minSyncReplicas',
  'monitoring',
  'postgresql',
  'primaryUpdateMethod',
  'primaryUpdateStrategy',
  'resources',
  'storage',
  'superuserSecret',
  'walStorage',
]);
const CNPG_ROLE_FIELDS = new Set([
  'name',
  'ensure',
  'comment',
  'login',
  'superuser',
  'bypassrls',
  'createdb',
  'createrole',
  'replication',
  'inherit',
  'connectionLimit',
  'validUntil',
  'inRoles',
  'passwordSecret',
  'disablePassword',
]);

/**
 * An example environment with its placeholders filled in, as an operator would: every value part
 * that says CHANGE_ME becomes a random-looking value of the same kind.
 */
function withRealSecrets(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [
      name,
      value.replace(/CHANGE_ME[A-Za-z0-9_]*/g, 'Zq8vT2mW9xK4pR7sN1cV6bH3jL5dF0gY'),
    ]),
  );
}

function readRepoFile(...path: string[]): string {
  return readFileSync(join(REPO_ROOT, ...path), 'utf8');
}

/** Every document of a YAML file, parsed strictly (a syntax error or duplicate key fails). */
function parseYaml(text: string, file: string): unknown[] {
  return parseAllDocuments(text, { merge: true, uniqueKeys: true }).map((doc) => {
    if (doc.errors.length > 0) {
      throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    return doc.toJS() as unknown;
  });
}

function loadManifests(): Document[] {
  const files = readdirSync(K8S_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  return files.flatMap((file) =>
    parseYaml(readFileSync(join(K8S_DIR, file), 'utf8'), file)
      .filter((object) => object !== null)
      .map((object) => ({ file, object: object as KubeObject })),
  );
}

function modelFor(object: KubeObject): ModelClass | undefined {
  const model = MODELS[object.apiVersion]?.[object.kind];
  return typeof model === 'function' ? (model as ModelClass) : undefined;
}

/** Validates `object` with the schema of its apiVersion and kind; throws what the schema refuses. */
function validate(object: KubeObject): void {
  const Model = modelFor(object);
  if (!Model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Dotted-path access into parsed YAML; fails the test with the path when a step is missing. */
function at<T = unknown>(value: unknown, path: string): T {
  let current = value;
  for (const key of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(key)) current = current[Number(key)];
    else if (isRecord(current) && key in current) current = current[key];
    else throw new Error(`missing ${path} (at ${key})`);
  }
  return current as T;
}

/** Prometheus metric names (of this service and of prom-client's defaults) in a PromQL text. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(?:boards|process|nodejs)_[a-z0-9_]+/g)].map((m) => m[0]);
}

/**
 * Every series name the app's registry exposes: MetricsService with advanced metrics on (the
 * duration histogram), prom-client's default metrics, and the pool gauge that HttpMetricsHook
 * registers. Histograms also expose _bucket, _sum and _count.
 */
async function exportedSeriesNames(): Promise<Set<string>> {
  const metrics = new MetricsService(loadConfig({ BOARDS_ENABLE_ADVANCED_METRICS: 'true' }));
  const noHttp = { httpAdapter: undefined } as unknown as HttpAdapterHost;
  const noPool = { driver: {} } as unknown as DataSource;
  new HttpMetricsHook(noHttp, metrics, noPool).onModuleInit();
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    }
  }
  return names;
}

/** Replaces docker compose `${VAR}`, `${VAR:-default}` and `${VAR:?message}` with a value. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?[-?]([^}]*))?\}/g, (_, name: string, fallback) =>
    typeof fallback === 'string' && !/^set /.test(fallback) && fallback !== ''
      ? fallback
      : `placeholder-${name.toLowerCase().replace(/_/g, '-')}`,
  );
}

/** KEY=value lines of an env file (comments, blank lines and quotes as docker compose reads them). */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!match) continue;
    env[match[1]] = match[2].trim().replace(/^"(.*)"$/, '$1');
  }
  return env;
}

describe('deployment artifacts (k8s/, compose files, Dockerfile)', () => {
  const documents = loadManifests();
  const find = (kind: string, name?: string): KubeObject => {
    const matches = documents.filter(
      (d) => d.object.kind === kind && (name === undefined || d.object.metadata.name === name),
    );
    if (matches.length !== 1) {
      throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${matches.length}`);
    }
    return matches[0].object;
  };

  const deployment = find('Deployment', 'boards-api');
  const podSpec = at<Json>(deployment, 'spec.template.spec');
  const api = at<Json[]>(podSpec, 'containers').find((c) => c.name === 'api') as Json;
  const configMap = find('ConfigMap', 'boards-api-config');
  const secret = find('Secret', 'boards-api');
  const service = find('Service', 'boards-api');
  const settings = at<Record<string, string>>(configMap, 'data');
  const secretData = at<Record<string, string>>(secret, 'stringData');
  /** The environment a pod gets: the ConfigMap plus every key of the example Secret. */
  const podConfig = () => loadConfig(withRealSecrets({ ...settings, ...secretData }));

  describe('schema validation', () => {
    it('k8s/ holds every resource the deployment needs, each once', () => {
      const kinds = documents.map((d) => `${d.object.apiVersion} ${d.object.kind}`).sort();
      expect(kinds).toEqual(
        expect.arrayContaining([
          'apps/v1 Deployment',
          'autoscaling/v2 HorizontalPodAutoscaler',
          'monitoring.coreos.com/v1 PrometheusRule',
          'monitoring.coreos.com/v1 ServiceMonitor',
          'networking.k8s.io/v1 Ingress',
          'policy/v1 PodDisruptionBudget',
          'postgresql.cnpg.io/v1 Cluster',
          'v1 ConfigMap',
          'v1 Secret',
          'v1 Service',
        ]),
      );
      const ids = documents.map((d) => `${d.object.kind}/${d.object.metadata.name}`);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it.each(documents.map((d) => [`${d.file}: ${d.object.kind} ${d.object.metadata?.name}`, d]))(
      '%s validates',
      (_, document) => {
        const { object } = document as Document;
        expect(object.metadata.name).toMatch(DNS_1123);
        expect(object.metadata.labels?.['app.kubernetes.io/name']).toBe('boards-api');
        if (object.apiVersion === 'postgresql.cnpg.io/v1') {
          // No schema package: the fields are checked against CNPG_CLUSTER_SPEC_FIELDS instead.
          expect(modelFor(object)).toBeUndefined();
          expect(object.kind).toBe('Cluster');
          const spec = at<Json>(object, 'spec');
          expect(Object.keys(spec).filter((k) => !CNPG_CLUSTER_SPEC_FIELDS.has(k))).toEqual([]);
          return;
        }
        expect(() => validate(object)).not.toThrow();
      },
    );

    it('the validation is live: broken copies of the manifests are refused', () => {
      const broken = JSON.parse(JSON.stringify(deployment)) as KubeObject;
      at<Json[]>(broken, 'spec.template.spec.containers')[0].ports = [{ containerPort: '8800' }];
      expect(() => validate(broken)).toThrow(/containerPort/);

      const hpa = JSON.parse(JSON.stringify(find('HorizontalPodAutoscaler'))) as KubeObject;
      delete at<Json>(hpa, 'spec').maxReplicas;
      expect(() => validate(hpa)).toThrow(/maxReplicas/);

      const rule = JSON.parse(JSON.stringify(find('PrometheusRule'))) as KubeObject;
      at<Json>(rule, 'spec.groups.0.rules.0').expr = { not: 'a string' };
      expect(() => validate(rule)).toThrow(/expr/);
    });
  });

  describe('Deployment, ConfigMap and Secret against the application', () => {
    it('runs 3 replicas of `boards serve`, the image command, on the app port', () => {
      expect(at(deployment, 'spec.replicas')).toBe(3);
      expect(api.command).toEqual(['boards', 'serve']);
      const config = podConfig();
      expect(config.api.port).toBe(loadConfig({}).api.port);
      expect(config.api.port).toBe(8800);
      expect(api.ports).toEqual([
        { name: 'http', containerPort: config.api.port, protocol: 'TCP' },
        { name: 'probes', containerPort: config.api.healthPort, protocol: 'TCP' },
      ]);
      const migrate = at<Json[]>(podSpec, 'initContainers').find((c) => c.name === 'migrate');
      expect(migrate?.command).toEqual(['boards', 'migrate', 'up']);
      expect(migrate?.image).toBe(api.image);
    });

    it("probes use the app's health routes (served outside /api) on the probe thread's named port", () => {
      const controllerPath = Reflect.getMetadata(PATH_METADATA, HealthController) as string;
      const route = (handler: object) =>
        `${controllerPath}/${Reflect.getMetadata(PATH_METADATA, handler) as string}`;
      const live = route(HealthController.prototype.live);
      const ready = route(HealthController.prototype.ready);
      expect([live, ready]).toEqual(['health/live', 'health/ready']);
      expect(UNPREFIXED_ROUTES).toEqual(expect.arrayContaining([live, ready]));

      for (const [probe, path] of [
        ['startupProbe', live],
        ['livenessProbe', live],
        ['readinessProbe', ready],
      ] as const) {
        expect(at(api, `${probe}.httpGet`)).toEqual({ path: `/${path}`, port: 'probes' });
      }
      expect(at<Json[]>(api, 'ports').map((p) => p.name)).toEqual(['http', 'probes']);
      expect(podConfig().api.healthPort).toBe(8801);
    });

    it('the example Secret as it is (placeholders) is refused in production, naming the variable', () => {
      expect(() => loadConfig({ ...settings, ...secretData })).toThrow(
        /^BOARDS_[A-Z_]+: .*example placeholder/,
      );
    });

    it('the ConfigMap with the example Secret, placeholders filled in, passes the production configuration check', () => {
      const known: readonly string[] = KNOWN_VARIABLES;
      const unknown = Object.keys({ ...settings, ...secretData }).filter((k) => !known.includes(k));
      expect(unknown).toEqual([]);
      const config = podConfig();
      expect(config.environment).toBe('production');
      expect(config.api.requireHttps).toBe(true);
      // X-Forwarded-* believed from the ingress controller's range only, never from every hop.
      expect(config.api.trustProxy).toEqual(['10.0.0.0/8']);
      expect(config.api.workers).toBe(1);
      expect(config.observability.advancedMetrics).toBe(true);
      expect(config.database.runtimeRole).toBe(settings.BOARDS_DATABASE_RUNTIME_ROLE);
      expect(config.warnings).toEqual([]);
      // Drain plus a margin for in-flight requests fits the grace period.
      expect(at<number>(podSpec, 'terminationGracePeriodSeconds')).toBeGreaterThanOrEqual(
        config.api.shutdownDrainSeconds + 20,
      );
    });

    it('secrets come from Secret boards-api, and every referenced key exists in the example', () => {
      for (const container of [api, ...at<Json[]>(podSpec, 'initContainers')]) {
        const env = at<Json[]>(container, 'env');
        const refs = env.map((e) => at<Json>(e, 'valueFrom.secretKeyRef'));
        for (const ref of refs) {
          expect(ref.name).toBe('boards-api');
          expect(Object.keys(secretData)).toContain(ref.key);
        }
        const required = refs.filter((r) => r.optional !== true).map((r) => r.key);
        expect(required).toEqual(
          expect.arrayContaining(['BOARDS_DATABASE_URL', 'BOARDS_DATABASE_OWNER_URL']),
        );
        expect(at(container, 'envFrom')).toEqual([
          { configMapRef: { name: configMap.metadata.name } },
        ]);
        expect(env.filter((e) => 'value' in e)).toEqual([]);
      }
      // Secrets are not written into the ConfigMap.
      expect(Object.keys(settings).filter((k) => k in secretData)).toEqual([]);
      const apiKeys = at<Json[]>(api, 'env').map((e) => e.name);
      expect(apiKeys).toEqual(expect.arrayContaining(['BOARDS_OIDC_CLIENT_SECRET']));
    });

    it('each container gets the secrets its configuration check needs, the metrics token required', () => {
      const { BOARDS_METRICS_TOKEN: token, ...withoutToken } = { ...settings, ...secretData };
      expect(token).toEqual(expect.any(String));
      expect(() => loadConfig(withRealSecrets(withoutToken))).toThrow(/^BOARDS_METRICS_TOKEN: /);
      for (const container of [api, ...at<Json[]>(podSpec, 'initContainers')]) {
        const refs = at<Json[]>(container, 'env').map((e) => at<Json>(e, 'valueFrom.secretKeyRef'));
        const required = refs.filter((r) => r.optional !== true).map((r) => String(r.key));
        expect([container.name, required]).toEqual([
          container.name,
          expect.arrayContaining(['BOARDS_METRICS_TOKEN']),
        ]);
        // The ConfigMap plus what this container is given (every referenced key, filled in).
        const given = Object.fromEntries(refs.map((r) => [r.key, secretData[String(r.key)]]));
        const refused = (() => {
          try {
            loadConfig(withRealSecrets({ ...settings, ...given }));
            return undefined;
          } catch (err) {
            return String(err);
          }
        })();
        expect([container.name, refused]).toEqual([container.name, undefined]);
      }
    });

    it('runs non-root, read-only, without privileges, with CPU and memory requests', () => {
      expect(at(podSpec, 'securityContext')).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(at<number>(podSpec, 'securityContext.runAsUser')).toBeGreaterThan(0);
      for (const container of [api, ...at<Json[]>(podSpec, 'initContainers')]) {
        expect(at(container, 'securityContext')).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(at(container, 'resources.requests')).toEqual({
          cpu: expect.any(String),
          memory: expect.any(String),
        });
        expect(at(container, 'resources.limits.memory')).toEqual(expect.any(String));
      }
    });
  });

  describe('Service, Ingress, HPA, PDB', () => {
    const podLabels = at<Record<string, string>>(deployment, 'spec.template.metadata.labels');

    it('the Deployment selector, pod labels and Service selector agree', () => {
      expect(at(deployment, 'spec.selector.matchLabels')).toEqual(APP_LABELS);
      expect(podLabels).toMatchObject(APP_LABELS);
      expect(at(service, 'spec.selector')).toEqual(APP_LABELS);
    });

    it("the Service's targetPort is the container port's name", () => {
      const ports = at<Json[]>(service, 'spec.ports');
      expect(ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
      const names = at<Json[]>(api, 'ports').map((p) => p.name);
      for (const port of ports) expect(names).toContain(port.targetPort);
    });

    it('the Ingress serves /api over TLS through the Service', () => {
      const ingress = find('Ingress');
      const tls = at<Json[]>(ingress, 'spec.tls');
      expect(tls).toHaveLength(1);
      expect(tls[0].secretName).toEqual(expect.any(String));
      const rules = at<Json[]>(ingress, 'spec.rules');
      for (const rule of rules) {
        expect(tls[0].hosts).toContain(rule.host);
        for (const path of at<Json[]>(rule, 'http.paths')) {
          expect(path.path).toBe('/api');
          expect(at(path, 'backend.service')).toEqual({
            name: service.metadata.name,
            port: { name: at<Json[]>(service, 'spec.ports')[0].name },
          });
        }
      }
      // The body limit at the ingress is the app's (1 MiB), so both answer alike.
      const annotations = ingress.metadata.annotations ?? {};
      expect(annotations['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('1m');
      expect(podConfig().api.bodyLimitBytes).toBe(1024 * 1024);
    });

    it('the HPA scales the Deployment by name between 3 and 10 on 70 % CPU', () => {
      const hpa = find('HorizontalPodAutoscaler');
      expect(at(hpa, 'spec.scaleTargetRef')).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: deployment.metadata.name,
      });
      expect([at(hpa, 'spec.minReplicas'), at(hpa, 'spec.maxReplicas')]).toEqual([3, 10]);
      expect(at(hpa, 'spec.metrics')).toEqual([
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ]);
      // Utilization is relative to the request, so the container must have one.
      expect(at(api, 'resources.requests.cpu')).toEqual(expect.any(String));
    });

    it("the PDB covers the Deployment's pods and leaves the HPA minimum serving", () => {
      const pdb = find('PodDisruptionBudget');
      expect(at(pdb, 'spec.selector.matchLabels')).toEqual(APP_LABELS);
      expect(at<number>(pdb, 'spec.maxUnavailable')).toBeLessThan(
        at<number>(find('HorizontalPodAutoscaler'), 'spec.minReplicas') - 1,
      );
    });
  });

  describe('CloudNativePG cluster and the database Secrets', () => {
    const cluster = find('Cluster', 'boards-db');

    it('the URLs point at the cluster with the owner and the runtime role it creates', () => {
      const initdb = at<Json>(cluster, 'spec.bootstrap.initdb');
      const runtime = new URL(secretData.BOARDS_DATABASE_URL);
      const owner = new URL(secretData.BOARDS_DATABASE_OWNER_URL);
      for (const url of [runtime, owner]) {
        expect(url.hostname).toBe(`${cluster.metadata.name}-rw`);
        expect(url.pathname).toBe(`/${String(initdb.database)}`);
      }
      expect(owner.username).toBe(initdb.owner);
      expect(runtime.username).toBe(settings.BOARDS_DATABASE_RUNTIME_ROLE);
      expect(at<number>(cluster, 'spec.instances')).toBeGreaterThanOrEqual(3);
      expect(at(cluster, 'spec.storage.size')).toMatch(/^\d+(Gi|Ti)$/);
    });

    it('the runtime role is a plain login role: no superuser, no BYPASSRLS', () => {
      const roles = at<Json[]>(cluster, 'spec.managed.roles');
      for (const role of roles) {
        expect(Object.keys(role).filter((k) => !CNPG_ROLE_FIELDS.has(k))).toEqual([]);
      }
      const runtime = roles.find((r) => r.name === settings.BOARDS_DATABASE_RUNTIME_ROLE);
      expect(runtime).toMatchObject({
        ensure: 'present',
        login: true,
        superuser: false,
        bypassrls: false,
        createrole: false,
      });
      expect(at(cluster, 'spec.enableSuperuserAccess')).toBe(false);
    });

    it('role passwords come from basic-auth Secrets whose usernames match the roles', () => {
      const secretFor = (name: unknown) => find('Secret', String(name));
      const owner = secretFor(at(cluster, 'spec.bootstrap.initdb.secret.name'));
      expect(owner.type).toBe('kubernetes.io/basic-auth');
      expect(at(owner, 'stringData.username')).toBe(at(cluster, 'spec.bootstrap.initdb.owner'));
      for (const role of at<Json[]>(cluster, 'spec.managed.roles')) {
        const roleSecret = secretFor(at(role, 'passwordSecret.name'));
        expect(roleSecret.type).toBe('kubernetes.io/basic-auth');
        expect(at(roleSecret, 'stringData.username')).toBe(role.name);
        expect(secretData.BOARDS_DATABASE_URL).toContain(
          `${String(role.name)}:${at<string>(roleSecret, 'stringData.password')}@`,
        );
      }
    });
  });

  describe('monitoring: ServiceMonitor, alert rules, Grafana dashboard', () => {
    let exported: Set<string>;
    beforeAll(async () => {
      exported = await exportedSeriesNames();
    });

    it('the ServiceMonitor scrapes /metrics on the Service port with the metrics token', () => {
      const monitor = find('ServiceMonitor');
      expect(at(monitor, 'spec.selector.matchLabels')).toEqual(service.metadata.labels);
      const [endpoint, ...others] = at<Json[]>(monitor, 'spec.endpoints');
      expect(others).toEqual([]);
      expect(UNPREFIXED_ROUTES).toContain('metrics');
      expect(endpoint).toMatchObject({ port: 'http', path: '/metrics' });
      expect(at<Json[]>(service, 'spec.ports').map((p) => p.name)).toContain(endpoint.port);
      expect(at(endpoint, 'authorization')).toEqual({
        type: 'Bearer',
        credentials: { name: secret.metadata.name, key: 'BOARDS_METRICS_TOKEN' },
      });
      expect(Object.keys(secretData)).toContain('BOARDS_METRICS_TOKEN');
    });

    it('alerts on isolation violations, the 5xx rate and p99 latency', () => {
      const rules = at<Json[]>(find('PrometheusRule'), 'spec.groups').flatMap((g) =>
        at<Json[]>(g, 'rules'),
      );
      const expr = (alert: string) =>
        String(rules.find((r) => r.alert === alert)?.expr ?? '').replace(/\s+/g, ' ');
      expect(expr('BoardsTenantIsolationViolation')).toMatch(
        /increase\(boards_tenant_isolation_violations_total\[\w+\]\)\) > 0$/,
      );
      expect(expr('BoardsHighErrorRate')).toContain(
        'boards_http_request_duration_seconds_count{status_class="5xx"',
      );
      expect(expr('BoardsHighLatencyP99')).toMatch(
        /^histogram_quantile\(0\.99, .*boards_http_request_duration_seconds_bucket/,
      );
      for (const rule of rules) {
        expect(rule.labels).toMatchObject({
          severity: expect.stringMatching(/^(critical|warning)$/),
        });
        for (const name of metricNames(String(rule.expr))) expect(exported).toContain(name);
      }
      // `up` is Prometheus' own; its job label is the Service name (ServiceMonitor default).
      expect(expr('BoardsApiDown')).toContain(`up{job="${service.metadata.name}"}`);
    });

    it('the Grafana dashboard parses and queries only metrics the app exports', () => {
      const dashboard = JSON.parse(readRepoFile('k8s', 'grafana-dashboard.json')) as Json;
      const panels = at<Json[]>(dashboard, 'panels').filter((p) => p.type !== 'row');
      expect(panels.length).toBeGreaterThanOrEqual(10);
      const ids = at<Json[]>(dashboard, 'panels').map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      const queried = new Set<string>();
      for (const panel of panels) {
        const targets = at<Json[]>(panel, 'targets');
        expect(targets.length).toBeGreaterThan(0);
        for (const target of targets) {
          const names = metricNames(String(target.expr));
          expect(names.length).toBeGreaterThan(0);
          for (const name of names) {
            expect(exported).toContain(name);
            queried.add(name);
          }
        }
      }
      // Every metric family of the service has a panel.
      const families = [...exported].filter(
        (n) => n.startsWith('boards_') && !/_(bucket|sum|count)$/.test(n),
      );
      for (const family of families) {
        expect([...queried].some((q) => q.startsWith(family))).toBe(true);
      }
      const variables = at<Json[]>(dashboard, 'templating.list').map((v) => v.name);
      expect(variables).toEqual(expect.arrayContaining(['datasource', 'tenant']));
    });
  });

  describe('docker compose files', () => {
    interface ComposeService {
      image?: string;
      build?: unknown;
      command?: string[];
      environment?: Record<string, string>;
      env_file?: string[];
      healthcheck?: { test: string[]; interval: string; timeout: string; retries: number };
      depends_on?: Record<string, { condition: string }>;
    }
    const compose = (file: string) => {
      const [document, ...rest] = parseYaml(readRepoFile(file), file);
      expect(rest).toEqual([]);
      return document as { services: Record<string, ComposeService> };
    };
    const files = ['docker-compose.yml', 'docker-compose.prod.yml'];

    it.each(files)('%s: services, healthchecks and dependencies are well-formed', (file) => {
      const { services } = compose(file);
      expect(Object.keys(services)).toContain('api');
      for (const [name, service] of Object.entries(services)) {
        expect([name, Boolean(service.image) || Boolean(service.build)]).toEqual([name, true]);
        if (service.healthcheck) {
          expect(service.healthcheck.test[0]).toMatch(/^CMD(-SHELL)?$/);
          expect(service.healthcheck.interval).toMatch(/^\d+s$/);
          expect(service.healthcheck.timeout).toMatch(/^\d+s$/);
          expect(service.healthcheck.retries).toBeGreaterThan(0);
        }
        for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
          expect(Object.keys(services)).toContain(dependency);
          expect([
            'service_started',
            'service_healthy',
            'service_completed_successfully',
          ]).toContain(condition);
          if (condition === 'service_healthy') {
            expect([dependency, services[dependency].healthcheck]).toEqual([
              dependency,
              expect.anything(),
            ]);
          }
        }
      }
    });

    it.each(files)("%s: the api's settings pass the configuration check", (file) => {
      const { services } = compose(file);
      const apiService = services.api;
      const fromFiles = (apiService.env_file ?? [])
        .map((f) => interpolate(f))
        .map((f) => parseEnvFile(readRepoFile(f)));
      const environment = Object.fromEntries(
        Object.entries(apiService.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
      );
      const env: Record<string, string> = Object.assign({}, ...fromFiles, environment);
      if (file.includes('prod')) {
        // As shipped, its placeholders are refused; filled in, it passes.
        expect(() => loadConfig(env)).toThrow(/example placeholder/);
      }
      const config = loadConfig(withRealSecrets(env));
      expect(config.warnings).toEqual([]);
      const healthcheck = (apiService.healthcheck?.test ?? []).join(' ');
      expect(healthcheck).toContain(`http://127.0.0.1:${config.api.port}/health/ready`);
      if (file.includes('prod')) {
        expect(config.environment).toBe('production');
        expect(config.api.trustProxy).toEqual(expect.arrayContaining([expect.any(String)]));
        expect(config.redisUrl).toMatch(/^redis:\/\/:.+@redis:6379$/);
        expect(apiService.command).toEqual(['boards', 'serve']);
        expect(services.migrate.command).toEqual(['boards', 'migrate', 'up']);
        expect(apiService.depends_on?.migrate.condition).toBe('service_completed_successfully');
      }
    });
  });

  describe('Dockerfile', () => {
    const dockerfile = readRepoFile('Dockerfile');
    const instructions = dockerfile
      .replace(/\\\n/g, ' ')
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'));
    const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

    it('is multi-stage; the runtime stage installs production dependencies only', () => {
      const stages = instructions.filter((l) => /^FROM /.test(l));
      expect(stages.length).toBeGreaterThanOrEqual(2);
      expect(stages[0]).toMatch(/ AS build$/);
      expect(runtimeStage).toMatch(/npm ci --omit=dev/);
      expect(runtimeStage).toMatch(/COPY --from=build \/app\/dist/);
      expect(runtimeStage).not.toMatch(/COPY (src|test) /);
    });

    it('runs `boards serve` as a non-root user with a liveness HEALTHCHECK on the app port', () => {
      const user = instructions.filter((l) => /^USER /.test(l)).pop();
      expect(user).toMatch(/^USER (node|[1-9]\d*)$/);
      expect(instructions.filter((l) => /^CMD /.test(l)).pop()).toBe('CMD ["boards", "serve"]');
      const port = loadConfig({}).api.port;
      expect(instructions).toContain(`EXPOSE ${port}`);
      const healthcheck = instructions.find((l) => /^HEALTHCHECK /.test(l)) ?? '';
      expect(healthcheck).toContain(`http://127.0.0.1:${port}/health/live`);
      expect(runtimeStage).toMatch(/ln -s \/app\/bin\/boards \/usr\/local\/bin\/boards/);
      expect(readRepoFile('bin', 'boards')).toContain('dist/src/cli.js');
    });
  });
});
