/**
 * One AWS request, evaluated the way AWS evaluates it, with @cloud-copilot/iam-simulate: the caller's identity
 * policies, the resource's policy (a secret's, a key's, a role's trust policy), and — for a request that comes through
 * one of the pool's VPC endpoints — the endpoint's policy, with the request context AWS would set (`aws:PrincipalArn`,
 * `aws:SourceVpce`, `aws:MultiFactorAuthPresent`, `kms:ViaService`, resource tags, …).
 */
import { isWildcardOnlyAction, runSimulation } from "@cloud-copilot/iam-simulate";
import { ACCOUNT, type NamedPolicy, type PolicyDocument, type PoolPolicies } from "./synthesised-pool";

export type Context = Readonly<Record<string, string | string[]>>;

export interface Actor {
  /** How the tables and failures name it: `operator (MFA)`, `producer instance role`. */
  readonly name: string;
  /** The calling principal: a role session, a user, or a service principal. */
  readonly principal: string;
  readonly identityPolicies: readonly NamedPolicy[];
  /** Context keys of every request this actor makes (`aws:PrincipalArn`, `aws:MultiFactorAuthPresent`, …). */
  readonly context: Context;
}

export interface AwsRequest {
  readonly action: string;
  /** The resource's ARN, or `*` for actions that take none. */
  readonly resource: string;
  readonly context?: Context;
  /** The request comes through this VPC endpoint (its id): `aws:SourceVpce` is set and the endpoint's policy applies. */
  readonly viaEndpoint?: string;
  /** A resource policy to use instead of the one the pool attaches to `resource` (a role's trust policy). */
  readonly resourcePolicy?: PolicyDocument;
}

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface Evaluation {
  readonly decision: Decision;
  /** Why, for a failure message: the deciding statements. */
  readonly detail: string;
}

function accountOf(arn: string): string {
  return arn.split(":")[4] || ACCOUNT;
}

export async function evaluate(actor: Actor, request: AwsRequest, policies: PoolPolicies): Promise<Evaluation> {
  const endpoint = request.viaEndpoint ? policies.endpoint.get(request.viaEndpoint) : undefined;
  if (request.viaEndpoint && !endpoint) throw new Error(`no endpoint ${request.viaEndpoint} in the pool`);
  const [service, operation] = request.action.split(":") as [string, string];
  // Actions that take no resource (List*, Describe* of EC2, …) are authorised on "*" whatever they are called on.
  const resourceArn = (await isWildcardOnlyAction(service, operation)) ? "*" : request.resource;
  const resourcePolicy = request.resourcePolicy ?? policies.resource.get(resourceArn);
  const result = await runSimulation(
    {
      request: {
        principal: actor.principal,
        action: request.action,
        resource: { resource: resourceArn, accountId: accountOf(request.resource) },
        contextVariables: { ...actor.context, ...(request.viaEndpoint ? { "aws:SourceVpce": request.viaEndpoint } : {}), ...request.context },
      },
      identityPolicies: actor.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
      ...(endpoint ? { vpcEndpointPolicies: [{ name: request.viaEndpoint!, policy: endpoint.policy }] } : {}),
    },
    { simulationMode: "Strict" },
  );
  if (result.resultType === "error") {
    throw new Error(`${actor.name} → ${request.action} on ${request.resource}: the simulation refused its input: ${result.errors.message} ${JSON.stringify(result.errors)}`);
  }
  const resultOf = result.resultType === "single" ? result.result : result.results[0];
  // A context key the evaluator drops would make a condition vacuous: a table row naming one is a mistake in the row.
  const ignored = (resultOf?.ignoredContextKeys ?? []).filter((k) => Object.keys(request.context ?? {}).includes(k));
  if (ignored.length > 0) throw new Error(`${request.action} on ${request.resource}: the evaluator ignores context ${ignored.join(", ")} (not a key of this action)`);
  const analysis = resultOf?.analysis;
  const statements = (kind: string, list: readonly { statement?: unknown }[] | undefined) => (list ?? []).map((s) => `${kind} ${JSON.stringify(s.statement)}`);
  const detail = [
    ...statements("identity deny:", analysis?.identityAnalysis?.denyStatements),
    ...statements("resource deny:", analysis?.resourceAnalysis?.denyStatements),
    ...statements("endpoint deny:", analysis?.endpointAnalysis?.denyStatements),
  ].join("; ");
  return { decision: result.overallResult as Decision, detail: detail || "no statement allows it" };
}
