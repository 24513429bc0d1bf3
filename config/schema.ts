/**
 * The pool config: one YAML file describes a whole stake pool (network, AWS placement, fleet sizes, access, alerts,
 * how pool-ops reaches and drives the nodes). Stacks and pool-ops read the same file.
 *
 * Every field has a safe default except what must be the operator's own decision (name, region, AZs, admin CIDRs).
 * Defaults are named constants so the README's reference and the code cannot drift apart.
 */
import { z } from "zod";
import { parseIpv4Cidr } from "./cidr";
import { NETWORK_PROTOCOL_MAJOR, NETWORK_SIZING } from "./networks";
import { nodeVersionLine, NodeVersionError } from "./node-versions";
import { sshPublicKeyProblem } from "./ssh-public-key";

export const CARDANO_NETWORKS = ["mainnet", "preprod", "preview"] as const;

/** Interface endpoints the producers need to reach AWS without an internet route. Each costs per AZ and hour. */
export const ALL_INTERFACE_ENDPOINTS = ["secretsmanager", "ssm", "ssmmessages", "ec2messages", "kms", "logs", "monitoring"] as const;

/** Producers have no route out: at boot they read their hot keys (Secrets Manager) and the leader record (SSM). */
export const REQUIRED_INTERFACE_ENDPOINTS = ["secretsmanager", "ssm"] as const;

export const DEFAULTS = {
  relayCount: 4,
  relayPort: 3001,
  metricsPort: 12798,
  nodeExporterPort: 9100,
  subnetPrefixLength: 24,
  flowLogRetentionDays: 90,
  rootVolumeGiB: 30,
  bastionInstanceType: "t3.micro",
  sandboxInstanceType: "m6i.large",
  monitoringInstanceType: "t3.medium",
  /** The newest 11.1 release (config/node-versions.ts). Relay/producer sizing defaults are per network: NETWORK_SIZING. */
  nodeVersion: "11.1.3",
  ledgerBackend: "V2InMemory",
} as const;

// Messages say what was expected; the loader appends the path and the value it got.
const intBetween = (min: number, max: number) => {
  const expected = `expected an integer between ${min} and ${max}`;
  return z.number({ error: expected }).int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
};

const nonEmpty = (what: string) => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });

export const poolNameSchema = z
  .string({ error: "expected a pool name" })
  .regex(/^[a-z][a-z0-9-]{1,22}[a-z0-9]$/, {
    error: "expected 3-24 characters of lowercase letters, digits and dashes, starting with a letter",
  });

const ipv4Cidr = z
  .string({ error: "expected an IPv4 CIDR such as 10.0.0.0/16" })
  .refine((value) => parseIpv4Cidr(value) !== undefined, {
    error: "expected a canonical IPv4 CIDR such as 10.0.0.0/16 (host bits zero)",
  });

const instanceType = z
  .string({ error: "expected an EC2 instance type such as m6i.large" })
  .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: "expected an EC2 instance type such as m6i.large" });

const volumeGiB = (min: number) => intBetween(min, 16384);

const awsRegion = z
  .string({ error: "expected an AWS region such as eu-west-1" })
  .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: "expected an AWS region such as eu-west-1" });

const email = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { error: "expected an e-mail address" });

const amiSchema = z.union(
  [
    z.strictObject({ id: z.string().regex(/^ami-[0-9a-f]{8,17}$/, { error: "expected an AMI id such as ami-0abc12345def67890" }) }),
    z.strictObject({
      lookup: z.strictObject({
        /** AWS account ids (or aliases like `amazon`) that own the image. */
        owners: z.array(nonEmpty("an owner account id")).min(1, { error: "expected at least one owner" }),
        /** Image name pattern, e.g. `debian-12-amd64-*`. The newest match wins. */
        namePattern: nonEmpty("an image name pattern"),
        architecture: z.enum(["x86_64", "arm64"]).default("x86_64"),
      }),
    }),
  ],
  { error: "expected either `id: ami-…` or `lookup: {owners, namePattern}`" },
);

const backendSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({
      type: z.literal("local"),
      /** Directory for state files, one `<stack>.tfstate` per stack. @default "terraform-state" (beside cdktf.out) */
      directory: z.string().default("terraform-state"),
    }),
    z.strictObject({
      type: z.literal("s3"),
      bucket: nonEmpty("an S3 bucket name"),
      /** Key prefix; each stack's state lives at `<keyPrefix>/<stack>.tfstate`. */
      keyPrefix: z.string().default("cardano-pool"),
      region: awsRegion.optional(),
      /** DynamoDB lock table (deprecated upstream); when absent S3 native lockfiles are used. */
      dynamodbTable: z.string().optional(),
      /** KMS key for the state objects; SSE-S3 when absent. */
      kmsKeyId: z.string().optional(),
    }),
  ],
  { error: "expected `type: local` or `type: s3`" },
);

const serviceCommandsSchema = z.strictObject({
  /** systemd unit name. @default "cardano-node" */
  name: z.string().default("cardano-node"),
  start: z.string().default("systemctl start cardano-node"),
  stop: z.string().default("systemctl stop cardano-node"),
  restart: z.string().default("systemctl restart cardano-node"),
  /** SIGHUP: cardano-node re-reads its topology and, once it has finished starting, its forging credentials. */
  reload: z.string().default("systemctl kill --signal=HUP cardano-node"),
  /** Exit 0 when the service runs. */
  isActive: z.string().default("systemctl is-active --quiet cardano-node"),
  /** Where the unit file is written. @default /etc/systemd/system/<name>.service */
  unitFile: z.string().regex(/^\/[^\s]*$/, { error: "expected an absolute path" }).optional(),
});

const genesisHash = z.string().regex(/^[0-9a-f]{64}$/, { error: "expected a Blake2b-256 hash as 64 lowercase hex digits" });

const nodeSchema = z.strictObject({
  /**
   * cardano-node version the fleet runs: a line of config/node-versions.ts (11.1.x, 11.0.x), which selects flags,
   * required config keys and the release archive's name. A line that cannot follow the network's protocol version is
   * refused. @default "11.1.3"
   */
  version: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, { error: "expected a version such as 11.1.3" })
    .default(DEFAULTS.nodeVersion),
  /**
   * The ledger's backend (`LedgerDB.Backend` of the node config): `V2InMemory` keeps the ledger state in memory (mainnet
   * needs >= 24 GiB instances: policy NODE-MEMORY-FITS-NETWORK), `V2LSM` keeps it on the chain volume.
   * @default "V2InMemory"
   */
  ledgerBackend: z.enum(["V2InMemory", "V2LSM", "V1LMDB"], { error: "expected V2InMemory, V2LSM or V1LMDB (11.0.x only)" }).default(DEFAULTS.ledgerBackend),
  /**
   * The genesis hashes the nodes must run with, when they are not the network's published ones (render/network-data.ts):
   * a private network, or the lab's synthetic release. A release whose config or files hash otherwise is refused.
   * @default the network's published hashes
   */
  genesisHashes: z.strictObject({ Byron: genesisHash, Shelley: genesisHash, Alonzo: genesisHash, Conway: genesisHash }).optional(),
  user: z.string().default("cardano"),
  group: z.string().default("cardano"),
  /** Directory holding config, topology, keys and the database mount. @default "/opt/cardano" */
  home: z.string().regex(/^\/[^\s]*$/, { error: "expected an absolute path" }).default("/opt/cardano"),
  metricsPort: intBetween(1, 65535).default(DEFAULTS.metricsPort),
  /** Where cardano-node and cardano-cli are installed (the unit runs <binDir>/cardano-node). @default "/usr/local/bin" */
  binDir: z.string().regex(/^\/[^\s]*$/, { error: "expected an absolute path" }).default("/usr/local/bin"),
  service: serviceCommandsSchema.prefault({}),
});

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, { error: "expected a SHA-256 as 64 lowercase hex digits (from the release's checksum file)" });

/** Where a release archive comes from: fetched by the sandbox from `url`, or uploaded from the operator's `file`. */
const archiveSource = {
  /** https URL the sandbox downloads. */
  url: z.string().regex(/^https:\/\/\S+$/, { error: "expected an https:// URL" }).optional(),
  /** A .tar.gz on the operator's machine, uploaded through the bastion (relative to the pool config file). */
  file: z.string().min(1).optional(),
  /** Always checked on the sandbox before anything is installed. */
  sha256,
};
const oneSource = { error: "expected exactly one of url or file" };
const hasOneSource = (a: { url?: string | undefined; file?: string | undefined }) => (a.url === undefined) !== (a.file === undefined);
const releaseArchive = z.strictObject(archiveSource).refine(hasOneSource, oneSource);

const imageSchema = z.strictObject({
  /**
   * cardano-node release archives by version (the archive holds cardano-node and cardano-cli), e.g.
   * `"10.5.1": {url: https://github.com/IntersectMBO/cardano-node/releases/download/10.5.1/cardano-node-10.5.1-linux.tar.gz, sha256: …}`.
   * `pool-ops image bake --node-version X` refuses a version not listed here. @default {}
   */
  nodeReleases: z.record(z.string().regex(/^\d+\.\d+\.\d+$/, { error: "expected a version such as 10.5.1" }), releaseArchive).default({}),
  /** The node_exporter release baked with it (its archive holds `node_exporter`). @default none: bake refuses */
  nodeExporter: z
    .strictObject({ version: z.string().regex(/^\d+\.\d+\.\d+$/, { error: "expected a version such as 1.9.1" }), ...archiveSource })
    .refine(hasOneSource, oneSource)
    .optional(),
  /** Where node_exporter is installed. @default "/usr/local/bin" */
  exporterBinDir: z.string().regex(/^\/[^\s]*$/, { error: "expected an absolute path" }).default("/usr/local/bin"),
  /**
   * Directories searched for key material before imaging (signing keys, op certs, counters, *.skey): anything found
   * stops the bake. @default node.home, /home, /root, /etc, /tmp, /var/tmp, /var/lib/cloud
   */
  keyScanPaths: z.array(z.string().regex(/^\/[^\s]*$/, { error: "expected an absolute path" })).min(1).optional(),
  /** How long to wait for the sandbox to run, answer SSH, and for the AMI to become available. @default 900 */
  timeoutSeconds: intBetween(60, 7200).default(900),
  /**
   * How long `image rollout` waits for a replaced node to answer SSH and be synced with peers (boot, cloud-init, the
   * node's ledger replay from its reattached chain volume) before it stops the rollout. @default 1800
   */
  rolloutHealthTimeoutSeconds: intBetween(10, 14_400).default(1800),
});

/** One `authorized_keys` line; a private key pasted by mistake is refused without echoing it. */
const authorizedKey = z.string({ error: "expected an OpenSSH public key line such as `ssh-ed25519 AAAA… you@laptop`" }).superRefine((value, ctx) => {
  const problem = sshPublicKeyProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem, params: { secret: /PRIVATE KEY/.test(value) } });
});

const sshSchema = z.strictObject({
  /**
   * Public keys allowed to log in as `user` on every host, installed by cloud-init at first boot (an instance has
   * no other way in: the stacks use no EC2 key pair). Required: at least one.
   */
  authorizedKeys: z
    .array(authorizedKey, { error: "expected a list of OpenSSH public keys (ssh.authorizedKeys)" })
    .min(1, { error: "expected at least one OpenSSH public key: without one nobody can log in to the pool's hosts" }),
  /**
   * Public keys for one tier *instead of* `authorizedKeys` (e.g. `producer: [a key kept on a hardware token]`), so a
   * key that reaches the relays does not reach the producers. Each hop through the bastion logs in on its own, so the
   * operator's ssh-agent holding every tier's key serves them all (a single `--identity` file serves only the hosts
   * that authorise it). @default none: every tier takes `authorizedKeys`
   */
  tierAuthorizedKeys: z
    .strictObject(
      Object.fromEntries((["bastion", "relay", "producer", "monitoring", "sandbox"] as const).map((tier) => [
        tier,
        z.array(authorizedKey, { error: `expected a list of OpenSSH public keys (ssh.tierAuthorizedKeys.${tier})` }).min(1, { error: `expected at least one key: an empty list would lock everyone out of the ${tier} tier (leave ${tier} out to use authorizedKeys)` }).optional(),
      ])) as Record<"bastion" | "relay" | "producer" | "monitoring" | "sandbox", z.ZodOptional<z.ZodArray<typeof authorizedKey>>>,
      { error: "expected keys per tier: bastion, relay, producer, monitoring, sandbox" },
    )
    .optional(),
  /** Login user on every host (Debian AMIs: `admin`). @default "admin" */
  user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "expected a Linux user name such as admin" }).default("admin"),
  /** Run changing commands through `sudo -n`. @default true */
  sudo: z.boolean().default(true),
  port: intBetween(1, 65535).default(22),
  connectTimeoutSeconds: intBetween(1, 120).default(10),
  /** Keepalives make a dead link fail fast instead of hanging a command forever. */
  keepaliveIntervalSeconds: intBetween(1, 60).default(5),
  keepaliveCountMax: intBetween(1, 10).default(3),
  /** Upper bound for one remote command, enforced server-side with `timeout -k`. @default 120 */
  commandTimeoutSeconds: intBetween(1, 3600).default(120),
}, { error: "expected an ssh section with authorizedKeys: the operators' OpenSSH public keys (nobody can log in without one)" });

export const PoolConfigSchema = z
  .strictObject({
    /** Pool name: prefixes every resource name and the `Pool` tag. Required. */
    name: poolNameSchema,
    /** Cardano network. @default "preprod" */
    network: z.enum(CARDANO_NETWORKS, { error: "expected one of mainnet, preprod, preview" }).default("preprod"),
    region: awsRegion,
    /** Exactly three AZs of the region: relay subnet i lives in AZ i. */
    availabilityZones: z
      .array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/, { error: "expected an AZ name such as eu-west-1a" }), {
        error: "expected a list of three availability zones",
      })
      .length(3, { error: "expected exactly three availability zones" })
      .refine((azs) => new Set(azs).size === 3, { error: "expected three different availability zones" }),
    vpc: z
      .strictObject({
        cidr: ipv4Cidr.default("10.40.0.0/16"),
        /** Size of every subnet. @default 24 */
        subnetPrefixLength: intBetween(20, 27).default(DEFAULTS.subnetPrefixLength),
        /**
         * Interface endpoints in the producer subnets, each billed per AZ and hour (`npm run cost`). Producers need
         * `secretsmanager` (their hot keys) and `ssm` (the leader record) at boot; Secrets Manager decrypts with KMS
         * on its own side, so `kms` is not needed for that. `ssmmessages` and `ec2messages` serve Session Manager,
         * `logs` and `monitoring` the CloudWatch agent. @default all seven
         */
        interfaceEndpoints: z
          .array(z.enum(ALL_INTERFACE_ENDPOINTS, { error: `expected one of ${ALL_INTERFACE_ENDPOINTS.join(", ")}` }))
          .refine((services) => REQUIRED_INTERFACE_ENDPOINTS.every((s) => services.includes(s)), {
            error: `expected ${REQUIRED_INTERFACE_ENDPOINTS.join(" and ")} among them: producers read their keys and the leader record through them at boot`,
          })
          .default([...ALL_INTERFACE_ENDPOINTS]),
        flowLogRetentionDays: z
          .union([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653].map((d) => z.literal(d)), {
            error: "expected a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, … days)",
          })
          .default(DEFAULTS.flowLogRetentionDays),
      })
      .prefault({}),
    relays: z
      .strictObject({
        count: intBetween(2, 16).default(DEFAULTS.relayCount),
        port: intBetween(1024, 65535).default(DEFAULTS.relayPort),
        /** @default per network (NETWORK_SIZING): r6i.xlarge (32 GiB) on mainnet, m6i.large on preprod/preview */
        instanceType: instanceType.optional(),
        /** @default per network: 500 on mainnet, 200 on preprod/preview */
        chainDbVolumeGiB: volumeGiB(20).optional(),
      })
      .prefault({}),
    producers: z
      .strictObject({
        /** AZ of the primary producer's private subnet. @default availabilityZones[0] */
        primaryAz: z.string().optional(),
        /** AZ of the standby producer's private subnet; must differ from the primary's. @default availabilityZones[1] */
        standbyAz: z.string().optional(),
        /** @default per network (NETWORK_SIZING): r6i.xlarge (32 GiB) on mainnet, m6i.large on preprod/preview */
        instanceType: instanceType.optional(),
        /** @default per network: 500 on mainnet, 200 on preprod/preview */
        chainDbVolumeGiB: volumeGiB(20).optional(),
      })
      .prefault({}),
    bastion: z.strictObject({
      /** Who may SSH to the bastion. Required; the open internet (0.0.0.0/0) fails synth (policy SG-BASTION-ADMIN-CIDRS). */
      adminCidrs: z
        .array(ipv4Cidr, { error: "expected a list of IPv4 CIDRs" })
        .min(1, { error: "expected at least one admin CIDR" }),
      instanceType: instanceType.default(DEFAULTS.bastionInstanceType),
    }),
    /** The node sandbox used to bake golden images; off unless an image is being baked. */
    sandbox: z
      .strictObject({
        enabled: z.boolean().default(false),
        instanceType: instanceType.default(DEFAULTS.sandboxInstanceType),
        /** @default per network: 500 on mainnet, 200 on preprod/preview */
        chainDbVolumeGiB: volumeGiB(20).optional(),
      })
      .prefault({}),
    monitoring: z
      .strictObject({
        instanceType: instanceType.default(DEFAULTS.monitoringInstanceType),
        /** SNS e-mail subscriptions for alerts. @default [] */
        alertEmails: z.array(email).default([]),
        /**
         * The delegator dashboard as a Grafana public dashboard (only its own panels' queries run; no login, no
         * Explore, no other dashboard) on the monitoring host's Grafana port, reachable from `cidrs`. Off: Grafana is
         * reached only through an SSH tunnel via the bastion. @default { enabled: false }
         */
        publicDashboard: z
          .strictObject({
            enabled: z.boolean().default(false),
            /** Who may open it; "0.0.0.0/0" for everyone. Required when enabled. @default [] */
            cidrs: z.array(ipv4Cidr, { error: "expected a list of IPv4 CIDRs" }).default([]),
          })
          .prefault({})
          .refine((p) => !p.enabled || p.cidrs.length > 0, {
            error: "expected at least one CIDR in cidrs when the public dashboard is enabled (0.0.0.0/0 for everyone)",
            path: ["cidrs"],
          }),
      })
      .prefault({}),
    /** Root volume size for every instance. @default 30 */
    rootVolumeGiB: volumeGiB(8).default(DEFAULTS.rootVolumeGiB),
    /** Base image for every instance (until golden images exist). @default Debian 12 from Debian's AWS account */
    ami: amiSchema.default({ lookup: { owners: ["136693071363"], namePattern: "debian-12-amd64-*", architecture: "x86_64" } }),
    /**
     * Additional ingress rules an operator needs (a second relay port, a public status page, …). They pass through the
     * same synth-time policy checks as the built-in rules: one from the open internet fails synth. @default []
     */
    extraIngress: z
      .array(
        z.strictObject({
          tier: z.enum(["relay", "producer", "bastion", "monitoring"], { error: "expected one of relay, producer, bastion, monitoring" }),
          port: intBetween(1, 65535),
          protocol: z.enum(["tcp", "udp"]).default("tcp"),
          cidrs: z.array(z.string().regex(/^[0-9a-f.:]+\/\d{1,3}$/, { error: "expected a CIDR" })).min(1),
          description: nonEmpty("a description of the flow this rule serves"),
        }),
      )
      .default([]),
    iam: z
      .strictObject({
        /**
         * Extra statements for a tier's instance role (e.g. an S3 bucket of chain snapshots). They pass the same
         * policy rules: granting an instance role the cold-key secrets fails synth. @default []
         */
        extraInstanceStatements: z
          .array(
            z.strictObject({
              tier: z.enum(["relay", "producer", "bastion", "monitoring", "sandbox"], {
                error: "expected one of relay, producer, bastion, monitoring, sandbox",
              }),
              actions: z.array(nonEmpty("an IAM action such as s3:GetObject")).min(1),
              resources: z.array(nonEmpty("a resource ARN or *")).min(1),
            }),
          )
          .default([]),
        /**
         * IAM principal ARNs allowed to assume the operator role, always with MFA. @default the account root, i.e.
         * any user or role of the account whose own IAM policy allows sts:AssumeRole on it
         */
        operatorTrustedPrincipals: z.array(z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:[^\s]+$/, { error: "expected an IAM principal ARN" })).default([]),
        /**
         * The IAM roles or users that run Terraform for this pool (CI's deploy role, an administrator). When listed,
         * the key secrets' resource policies also deny everyone else (the account root user excepted) the calls that
         * could change who reads a key or destroy it: PutResourcePolicy, DeleteResourcePolicy, UpdateSecret (which
         * can also write a value), DeleteSecret and replication. Reading metadata (DescribeSecret, GetResourcePolicy)
         * is always left to IAM, so every plan can read the secrets back. Give role ARNs, not the
         * `arn:aws:sts::…:assumed-role/…` of a session: policies compare `aws:PrincipalArn`, which is the role's.
         * @default [] — those calls are left to IAM
         */
        deployerPrincipals: z
          .array(
            z
              .string()
              .regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, {
                error: "expected the ARN of an IAM role or user, e.g. arn:aws:iam::123456789012:role/pool-deployer (no wildcards; not an sts:assumed-role session)",
              }),
          )
          .default([]),
      })
      .prefault({}),
    /** Extra tags on every resource (Pool and Role are always set). */
    tags: z.record(z.string(), z.string()).default({}),
    backend: backendSchema.default({ type: "local", directory: "terraform-state" }),
    node: nodeSchema.prefault({}),
    /** Golden images: what `pool-ops image bake` installs on the sandbox and checks before imaging. */
    image: imageSchema.prefault({}),
    /**
     * The pool's id (bech32 `pool1…` or 56 hex digits). rotate-kes and promote refuse a cold key that is not this
     * pool's. @default not set: the check is skipped with a warning
     */
    poolId: z
      .string()
      .regex(/^(pool1[02-9ac-hj-np-z]{50}|[0-9a-f]{56})$/, { error: "expected a pool id: pool1… (bech32) or 56 hex digits" })
      .optional(),
    topology: z
      .strictObject({
        /**
         * The address other nodes dial to reach a host, by host name (`relay-2: relay2.example.org`). @default each
         * host's private IP inside the VPC
         */
        addresses: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, { error: "expected a host name such as relay-2" }), z.string().regex(/^[A-Za-z0-9.-]+$/, { error: "expected an IPv4 address or DNS name" })).default({}),
      })
      .prefault({}),
    pushConfig: z
      .strictObject({
        /**
         * Extra files pushed with the rendered ones: `<dir>/role/<role>/<absolute path>` and
         * `<dir>/host/<host>/<absolute path>`; relative to the pool config file. @default none
         */
        extraFilesDir: z.string().min(1).optional(),
        /** Relays changed at once during a roll (never all). @default 1 */
        relaysAtOnce: intBetween(1, 8).default(1),
        /** A node is healthy when its tip is at most this many slots behind the wall clock's slot. @default 120 */
        maxSlotLag: intBetween(1, 100_000).default(120),
        /** … and it has at least this many connected peers. @default 1 */
        minPeers: intBetween(0, 1000).default(1),
        /**
         * How long a node may take to become healthy after a reload or restart (a restart loads a ledger snapshot
         * and may replay). @default per network: 1200 on mainnet, 300 on preprod/preview
         */
        healthTimeoutSeconds: intBetween(1, 7200).optional(),
      })
      .prefault({}),
    kes: z
      .strictObject({
        /** `pool-ops kes status` exits 2 when fewer days than this remain before the op cert expires. @default 7 */
        warnDays: intBetween(1, 365).default(7),
        /**
         * Shell command run on the leader that prints the op-cert counter the chain last saw for this pool (a number),
         * e.g. a wrapper around `cardano-cli query kes-period-info` printing `qKesNodeStateOperationalCertificateNumber`.
         * Without it rotate-kes re-uses the current cert's counter, which the chain always accepts. @default not set
         */
        onChainCounterCommand: z.string().min(1).optional(),
      })
      .prefault({}),
    ssh: sshSchema,
    /**
     * Test mode only: point every AWS API at an emulator on loopback (moto). Never set for a real pool.
     * The POOL_EMULATOR_ENDPOINT environment variable sets it too.
     */
    emulator: z
      .strictObject({
        endpoint: z.string().regex(/^http:\/\/(127\.0\.0\.1|localhost):\d+\/?$/, {
          error: "expected a loopback URL such as http://127.0.0.1:5000",
        }),
        /** The emulator has no real images: this id stands for every AMI. */
        amiId: z.string().default("ami-12c6146b"),
      })
      .optional(),
  })
  .superRefine((pool, ctx) => {
    const azs = pool.availabilityZones;
    for (const field of ["primaryAz", "standbyAz"] as const) {
      const az = pool.producers[field];
      if (az !== undefined && !azs.includes(az)) {
        ctx.addIssue({
          code: "custom",
          path: ["producers", field],
          message: `expected one of availabilityZones (${azs.join(", ")})`,
          input: az,
        });
      }
    }
    const primary = pool.producers.primaryAz ?? azs[0];
    const standby = pool.producers.standbyAz ?? azs[1];
    if (primary === standby) {
      ctx.addIssue({
        code: "custom",
        path: ["producers", "standbyAz"],
        message: `expected an AZ different from producers.primaryAz (${primary}): a standby in the same AZ fails with it`,
        input: standby,
      });
    }
    for (const az of azs) {
      if (!az.startsWith(pool.region)) {
        ctx.addIssue({
          code: "custom",
          path: ["availabilityZones"],
          message: `expected AZs of region ${pool.region}`,
          input: az,
        });
        break;
      }
    }
    // The node line: supported, able to follow the network's protocol version, offering the chosen ledger backend.
    try {
      const line = nodeVersionLine(pool.node.version);
      const needed = NETWORK_PROTOCOL_MAJOR[pool.network];
      if (line.protocol.maxMajor < needed) {
        ctx.addIssue({ code: "custom", path: ["node", "version"], message: `cardano-node ${line.line}.x follows protocol versions up to ${line.protocol.maxMajor}, ${pool.network} runs ${needed}`, input: pool.node.version });
      }
      if (!line.ledgerBackends.includes(pool.node.ledgerBackend)) {
        ctx.addIssue({ code: "custom", path: ["node", "ledgerBackend"], message: `cardano-node ${line.line}.x offers ${line.ledgerBackends.join(", ")}`, input: pool.node.ledgerBackend });
      }
    } catch (error) {
      if (!(error instanceof NodeVersionError)) throw error;
      ctx.addIssue({ code: "custom", path: ["node", "version"], message: error.message.replace(/^node\.version:? ?/, ""), input: pool.node.version });
    }
  })
  // Sizing defaults depend on the network (config/networks.ts NETWORK_SIZING): a mainnet node needs far more.
  .transform((pool) => {
    const sizing = NETWORK_SIZING[pool.network];
    return {
      ...pool,
      relays: { ...pool.relays, instanceType: pool.relays.instanceType ?? sizing.nodeInstanceType, chainDbVolumeGiB: pool.relays.chainDbVolumeGiB ?? sizing.chainDbVolumeGiB },
      producers: { ...pool.producers, instanceType: pool.producers.instanceType ?? sizing.nodeInstanceType, chainDbVolumeGiB: pool.producers.chainDbVolumeGiB ?? sizing.chainDbVolumeGiB },
      sandbox: { ...pool.sandbox, chainDbVolumeGiB: pool.sandbox.chainDbVolumeGiB ?? sizing.chainDbVolumeGiB },
      pushConfig: { ...pool.pushConfig, healthTimeoutSeconds: pool.pushConfig.healthTimeoutSeconds ?? sizing.restartHealthTimeoutSeconds },
    };
  });

/** The pool config as written (defaults not yet applied). */
export type PoolConfigInput = z.input<typeof PoolConfigSchema>;
/** The pool config with every default applied: what stacks and pool-ops work with. */
export type PoolConfig = z.output<typeof PoolConfigSchema>;
export type CardanoNetworkName = (typeof CARDANO_NETWORKS)[number];
export type InterfaceEndpointService = (typeof ALL_INTERFACE_ENDPOINTS)[number];
