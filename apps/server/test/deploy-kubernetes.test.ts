// The Kubernetes example (deploy/kubernetes/) against the CLI it runs. No cluster here: every manifest is
// parsed, checked against the Kubernetes OpenAPI schemas (kubernetes-models: types, required fields and
// enums; like kubeconform without -strict, unknown fields pass), and then against the proxy itself. The
// proxy's command line goes through the real parseArgs, so the port, the drain timeout and the shutdown
// that follows it are the CLI's own values and defaults, never copies. HAProxy's configuration is checked
// by `haproxy -c` when haproxy is installed (CI installs it).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { StatefulSet, Deployment } from 'kubernetes-models/apps/v1'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1'
import { parseAllDocuments } from 'yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { parseArgs, type RunConfig } from '../src/parse-args.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const DIR = join(ROOT, 'deploy/kubernetes')
const NAMESPACE = 'mcp-proxy'
/** Files kept out of kustomization.yaml on purpose (their headers say why). */
const NOT_APPLIED = ['proxy-secret.example.yaml', 'proxy-hpa.yaml']

// ---- loading ----

type Obj = Record<string, unknown>
interface Doc {
  file: string
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string> }
  spec?: Obj
  data?: Record<string, string>
  [key: string]: unknown
}

function loadDocs(): Doc[] {
  const docs: Doc[] = []
  for (const file of readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const parsed of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      if (parsed.errors.length > 0) throw new Error(`${file}: ${parsed.errors.map((e) => e.message).join('; ')}`)
      const value = parsed.toJS() as Obj | null
      if (value !== null) docs.push({ ...(value as Doc), file })
    }
  }
  return docs
}

const docs = loadDocs()
const api = docs.filter((d) => d.kind !== 'Kustomization')

function one(kind: string, name?: string): Doc {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name))
  expect(found.map((d) => `${d.file}: ${d.kind}/${d.metadata.name}`), `exactly one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1)
  return found[0]!
}

// The shapes read below (only what the test looks at).
interface EnvVar {
  name: string
  value?: string
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } }
}
interface Probe {
  httpGet?: { path: string; port: number | string }
}
interface Container {
  name: string
  args?: string[]
  env?: EnvVar[]
  ports?: { name?: string; containerPort: number }[]
  readinessProbe?: Probe
  livenessProbe?: Probe
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } }
  securityContext?: { runAsNonRoot?: boolean; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } }
}
interface PodTemplate {
  metadata: { labels: Record<string, string> }
  spec: { containers: Container[]; terminationGracePeriodSeconds?: number }
}
interface Workload {
  replicas?: number
  selector: { matchLabels: Record<string, string> }
  template: PodTemplate
  strategy?: { rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } }
}

const workload = (d: Doc): Workload => d.spec as unknown as Workload
const container = (d: Doc): Container => {
  const containers = workload(d).template.spec.containers
  expect(containers, `${d.kind}/${d.metadata.name}: one container`).toHaveLength(1)
  return containers[0]!
}

/** A probe's or Service's port, by number or by the container port's name. */
function portNumber(c: Container, port: number | string): number | undefined {
  return typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort
}

/** What preStop waits, in seconds: `exec: sleep N` or the native `sleep: {seconds: N}`. */
function preStopSeconds(c: Container): number {
  const preStop = c.lifecycle?.preStop
  if (preStop?.sleep) return preStop.sleep.seconds
  const command = preStop?.exec?.command ?? []
  expect(command[0], 'preStop runs sleep').toBe('sleep')
  return Number(command[1])
}

const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name'
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v)

// ---- the proxy's command line, as the container runs it ----

/** MCP_PROXY_* variables the image sets (the Dockerfile's runtime stage). */
function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
  return Object.fromEntries([...runtime.matchAll(/\b(MCP_PROXY_[A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]))
}

/** The longest pod name a Deployment can give: <name>-<pod-template-hash, at most 10>-<5 random>. */
const longestPodName = (deployment: string): string => `${deployment}-${'b'.repeat(10)}-${'x'.repeat(5)}`

/** The container's environment: the image's, then the manifest's, with downward API and Secret values filled in. */
function containerEnv(deployment: Doc, c: Container): Record<string, string> {
  const env: Record<string, string> = { ...imageEnv() }
  for (const variable of c.env ?? []) {
    const from = variable.valueFrom
    if (variable.value !== undefined) env[variable.name] = variable.value
    else if (from?.fieldRef?.fieldPath === 'metadata.name') env[variable.name] = longestPodName(deployment.metadata.name)
    else if (from?.secretKeyRef) env[variable.name] = `secret-${from.secretKeyRef.key}-`.padEnd(48, 'k')
    else throw new Error(`env ${variable.name}: no value the test knows how to fill`)
  }
  return env
}

function proxyConfig(): { deployment: Doc; c: Container; config: RunConfig; warnings: string[]; env: Record<string, string> } {
  const deployment = one('Deployment')
  const c = container(deployment)
  const env = containerEnv(deployment, c)
  const parsed = parseArgs(c.args ?? [], env)
  if (parsed.action !== 'run') throw new Error(`the container's args ask for ${parsed.action}`)
  return { deployment, c, config: parsed.config, warnings: parsed.warnings, env }
}

// ---- HAProxy ----

function findHaproxy(): string | undefined {
  for (const candidate of ['haproxy', '/usr/sbin/haproxy', '/usr/local/sbin/haproxy']) {
    if (spawnSync(candidate, ['-v'], { encoding: 'utf8' }).status === 0) return candidate
  }
  return undefined
}
const HAPROXY = findHaproxy()

const haproxyCfg = (): string => {
  const cfg = one('ConfigMap', 'mcp-lb-config').data?.['haproxy.cfg']
  expect(cfg, 'the ConfigMap holds haproxy.cfg').toBeTypeOf('string')
  return cfg!
}

/** The lines of one section (`backend mcp`), comments and trailing whitespace removed. */
function section(cfg: string, header: string): string[] {
  const lines = cfg
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    .map((l) => l.replace(/\s+#.*$/, '').trimEnd())
  const start = lines.indexOf(header)
  expect(start, `haproxy.cfg has "${header}"`).toBeGreaterThan(-1)
  const body: string[] = []
  // A section runs until the next line at column 0 (conditional blocks, `.if`, belong to it).
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line) && !line.startsWith('.')) break
    body.push(line.trim())
  }
  return body
}

const tmp = mkdtempSync(join(tmpdir(), 'deploy-k8s-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

// ---- tests ----

describe('deploy/kubernetes: the manifests', () => {
  it('parse as YAML; every document has apiVersion, kind and metadata.name, all in one namespace', () => {
    expect(api.length).toBeGreaterThan(5)
    for (const d of docs) {
      const where = `${d.file}: ${d.kind}/${d.metadata?.name}`
      expect(d.apiVersion, where).toMatch(/^[a-z0-9.]*\/?v\d\w*$/)
      expect(d.kind, where).toMatch(/^[A-Z]\w+$/)
      expect(d.metadata?.name, where).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/)
      if (d.kind === 'Namespace') expect(d.metadata.name, where).toBe(NAMESPACE)
      else if (d.kind === 'Kustomization') expect(d.namespace, where).toBe(NAMESPACE)
      else expect(d.metadata.namespace, where).toBe(NAMESPACE)
    }
  })

  it('pass the Kubernetes OpenAPI schemas (kubernetes-models)', () => {
    type Model = new (data: never) => { validate(): void }
    const models: Record<string, Model> = {
      'v1/Namespace': Namespace,
      'v1/Service': Service,
      'v1/ConfigMap': ConfigMap,
      'v1/Secret': Secret,
      'apps/v1/Deployment': Deployment,
      'apps/v1/StatefulSet': StatefulSet,
      'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
      'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
    }
    for (const d of api) {
      const Model = models[`${d.apiVersion}/${d.kind}`]
      expect(Model, `${d.file}: a schema for ${d.apiVersion} ${d.kind} (add it to this table)`).toBeDefined()
      const { file: _file, ...object } = d
      expect(() => new Model!(object as never).validate(), `${d.file}: ${d.kind}/${d.metadata.name}`).not.toThrow()
    }
  })

  it('kustomization.yaml lists every manifest but the example Secret and the optional HPA', () => {
    const resources = (one('Kustomization').resources as string[]).slice().sort()
    const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml' && !NOT_APPLIED.includes(f))
    expect(resources).toEqual(files.sort())
  })
})

describe('deploy/kubernetes: the proxy Deployment against the CLI', () => {
  it('runs a command line the CLI accepts: every flag and MCP_PROXY_* variable known, listening on the pod address with an API key', () => {
    const { config, warnings } = proxyConfig()
    expect(warnings, 'no unknown MCP_PROXY_* variable').toEqual([])
    expect(config.host).toBe('0.0.0.0')
    expect(config.resolved.apiKeys, 'the API key, from the Secret').toHaveLength(1)
    expect(config.plugin.command, 'an MCP server after --').toBeTruthy()
  })

  it('takes the instance id from the pod name, which fits the instance id even at its longest', () => {
    const { deployment, c, config } = proxyConfig()
    const variable = c.env?.find((e) => e.name === 'MCP_PROXY_INSTANCE_ID')
    expect(variable?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name')
    // The plugin's own schema ([A-Za-z0-9_-], 1 to 32) accepted it in parseArgs; the bound, spelled out:
    const longest = longestPodName(deployment.metadata.name)
    expect(longest.length, `Deployment name "${deployment.metadata.name}" is too long for a pod name to be an instance id`).toBeLessThanOrEqual(32)
    expect(config.resolved.instanceId).toBe(longest)
  })

  it('exposes the --port it listens on, and probes /ready (readiness) and /ping (liveness) there', () => {
    const { c, config } = proxyConfig()
    expect(c.ports?.map((p) => p.containerPort)).toEqual([config.port])
    expect(c.readinessProbe?.httpGet?.path).toBe('/ready')
    expect(c.livenessProbe?.httpGet?.path).toBe('/ping')
    expect(portNumber(c, c.readinessProbe!.httpGet!.port)).toBe(config.port)
    expect(portNumber(c, c.livenessProbe!.httpGet!.port)).toBe(config.port)
  })

  it('gives a stopping pod longer than preStop + the drain + the shutdown after it', () => {
    const { deployment, c, config } = proxyConfig()
    // Both read from the CLI: --drain-timeout or its default (30 s), --graceful-shutdown-timeout or its
    // default (stop-grace x 3 + 3 s). The Deployment may set them or not; the sum must fit either way.
    const drain = config.resolved.drainTimeout / 1000
    const shutdown = config.shutdownTimeout / 1000
    const preStop = preStopSeconds(c)
    expect(preStop).toBeGreaterThanOrEqual(3)
    const grace = workload(deployment).template.spec.terminationGracePeriodSeconds
    expect(grace, `preStop ${preStop} s + drain ${drain} s + shutdown ${shutdown} s`).toBeGreaterThan(preStop + drain + shutdown)
  })

  it('rolls one new pod at a time and never drops below the wanted count', () => {
    expect(workload(one('Deployment')).strategy?.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 })
  })

  it('runs every container non-root, read-only, without capabilities', () => {
    for (const d of docs.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
      expect(container(d).securityContext, `${d.kind}/${d.metadata.name}`).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      })
    }
  })

  it('reads its secrets from the Secret the example shows, by its keys', () => {
    const secret = one('Secret', 'mcp-proxy-secrets')
    const keys = Object.keys((secret.stringData ?? secret.data) as Obj)
    const refs = (container(one('Deployment')).env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []))
    expect(refs.length).toBeGreaterThan(0)
    for (const ref of refs) {
      expect(ref.name).toBe(secret.metadata.name)
      expect(keys).toContain(ref.key)
    }
  })
})

describe('deploy/kubernetes: selectors', () => {
  const workloads = docs.filter((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet')
  const podsOf = (selector: Record<string, string>): Doc[] => workloads.filter((w) => matches(selector, workload(w).template.metadata.labels))

  it('each workload selects its own pods', () => {
    for (const w of workloads) expect(matches(workload(w).selector.matchLabels, workload(w).template.metadata.labels), `${w.kind}/${w.metadata.name}`).toBe(true)
  })

  it('the proxy PDB covers the Deployment\'s pods, and only those', () => {
    const pdb = one('PodDisruptionBudget', 'mcp-proxy').spec as { selector: { matchLabels: Record<string, string> } }
    expect(podsOf(pdb.selector.matchLabels)).toEqual([one('Deployment')])
    for (const other of docs.filter((d) => d.kind === 'PodDisruptionBudget')) {
      expect(podsOf((other.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels), `PDB ${other.metadata.name}`).toHaveLength(1)
    }
  })

  it('every Service selects one workload\'s pods, on a port its container has', () => {
    for (const svc of docs.filter((d) => d.kind === 'Service')) {
      const spec = svc.spec as { selector: Record<string, string>; ports: { port: number; targetPort: number | string }[] }
      // The StatefulSet controller labels each of its pods with its own name: not in the template.
      const { [POD_NAME_LABEL]: podName, ...selector } = spec.selector
      const selected = podsOf(selector)
      expect(selected, `Service ${svc.metadata.name}`).toHaveLength(1)
      if (podName !== undefined) {
        expect(selected[0]!.kind).toBe('StatefulSet')
        const ordinals = Array.from({ length: workload(selected[0]!).replicas ?? 1 }, (_, i) => `${selected[0]!.metadata.name}-${i}`)
        expect(ordinals, `Service ${svc.metadata.name}: a pod of the StatefulSet`).toContain(podName)
      }
      for (const port of spec.ports) expect(portNumber(container(selected[0]!), port.targetPort), `Service ${svc.metadata.name} port ${port.port}`).toBeDefined()
    }
  })

  it('the proxy\'s Service is headless, selects the Deployment, and serves its --port', () => {
    const { config } = proxyConfig()
    const svc = one('Service', 'mcp-proxy-pods').spec as { clusterIP: string; selector: Record<string, string>; ports: { port: number }[] }
    expect(svc.clusterIP).toBe('None')
    expect(podsOf(svc.selector)).toEqual([one('Deployment')])
    expect(svc.ports.map((p) => p.port)).toEqual([config.port])
  })

  it('the optional HPA scales the Deployment, within HAProxy\'s server slots', () => {
    const hpa = one('HorizontalPodAutoscaler', 'mcp-proxy').spec as { scaleTargetRef: { kind: string; name: string }; maxReplicas: number }
    expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: one('Deployment').metadata.name })
    const slots = Number(/server-template\s+\S+\s+(\d+)/.exec(haproxyCfg())?.[1])
    // The rollout adds maxSurge (1) pod on top.
    expect(hpa.maxReplicas + 1).toBeLessThanOrEqual(slots)
  })
})

describe('deploy/kubernetes: HAProxy', () => {
  it('learns session ids from responses and routes by them (Streamable HTTP and legacy SSE)', () => {
    const backend = section(haproxyCfg(), 'backend mcp')
    expect(backend).toContain('stick store-response res.hdr(mcp-session-id)')
    expect(backend).toContain('stick match req.hdr(mcp-session-id)')
    expect(backend).toContain('stick match url_param(sessionId)')
    expect(backend.some((l) => /^option redispatch\b/.test(l))).toBe(true)
    expect(backend).toContain('option httpchk GET /ready')
    // "<instance id, at most 32>.<uuid, 36>" fits a key.
    const len = Number(/^stick-table type string len (\d+)/m.exec(backend.join('\n'))?.[1])
    expect(len).toBeGreaterThanOrEqual(32 + 1 + 36)
  })

  it('keeps SSE streams open for an hour', () => {
    const defaults = section(haproxyCfg(), 'defaults')
    for (const timeout of ['client', 'server', 'tunnel']) expect(defaults).toContain(`timeout ${timeout} 1h`)
  })

  it('finds the proxy pods through the headless Service\'s DNS name, on their --port', () => {
    const { config } = proxyConfig()
    const line = section(haproxyCfg(), 'backend mcp').find((l) => l.startsWith('server-template '))
    expect(line).toBeDefined()
    const [, , , address, ...options] = line!.split(/\s+/)
    expect(address).toBe(`mcp-proxy-pods.${NAMESPACE}.svc.cluster.local:${config.port}`)
    expect(options.join(' ')).toMatch(/\bcheck\b/)
    expect(options.join(' ')).toMatch(/\bresolvers \S+/)
    expect(options.join(' ')).toMatch(/\binit-addr none\b/)
  })

  it('names one peer per StatefulSet pod, each reached through its own Service', () => {
    const sts = one('StatefulSet', 'mcp-lb')
    const replicas = workload(sts).replicas ?? 1
    const peers = section(haproxyCfg(), 'peers mcp-lb')
    const pods = Array.from({ length: replicas }, (_, i) => `${sts.metadata.name}-${i}`)
    const named = [...new Set(peers.filter((l) => l.startsWith('server ')).map((l) => l.split(/\s+/)[1]))].sort()
    expect(named).toEqual(pods)
    for (const pod of pods) {
      const svc = one('Service', `${pod}-peer`)
      const spec = svc.spec as { selector: Record<string, string>; ports: { port: number }[] }
      expect(spec.selector['statefulset.kubernetes.io/pod-name']).toBe(pod)
      expect(peers).toContain(`server ${pod} ${pod}-peer.${NAMESPACE}.svc.cluster.local:${spec.ports[0]!.port}`)
    }
  })

  it.skipIf(!HAPROXY)(`passes haproxy -c as each peer${HAPROXY ? '' : ' (SKIPPED: haproxy is not installed here; CI installs it)'}`, () => {
    // Peer addresses are resolved when HAProxy starts; the cluster's names do not resolve here, so they
    // are mapped to loopback. The server-template names need no resolving (init-addr none).
    const cfg = haproxyCfg().replace(/\b[a-z0-9-]+-peer\.[a-z0-9-]+\.svc\.cluster\.local(?=:\d)/g, '127.0.0.1')
    const file = join(tmp, 'haproxy.cfg')
    writeFileSync(file, cfg)
    const sts = one('StatefulSet', 'mcp-lb')
    for (let i = 0; i < (workload(sts).replicas ?? 1); i++) {
      const result = spawnSync(HAPROXY!, ['-c', '-L', `${sts.metadata.name}-${i}`, '-f', file], { encoding: 'utf8' })
      expect(result.status, `haproxy -c as ${sts.metadata.name}-${i}:\n${result.stdout}${result.stderr}`).toBe(0)
      expect(result.stderr, 'no warnings').not.toMatch(/\[WARNING\]/)
    }
  })

  it('starts with the local peer name the StatefulSet pod has, and mounts the ConfigMap', () => {
    const sts = one('StatefulSet', 'mcp-lb')
    const c = container(sts)
    expect(c.args?.join(' ')).toMatch(/-L \$\(POD_NAME\)/)
    expect(c.env?.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name')
    const volumes = (workload(sts).template.spec as { volumes?: { configMap?: { name: string } }[] }).volumes ?? []
    expect(volumes.map((v) => v.configMap?.name)).toContain('mcp-lb-config')
    expect(existsSync(join(DIR, 'lb-configmap.yaml'))).toBe(true)
  })
})
