// The part of CloudFormation's intrinsic functions a CDK template of ours uses: Ref, Fn::GetAtt,
// Fn::Join, Fn::Sub, Fn::Select, Fn::Split and the pseudo parameters. Anything else fails by name.
export interface ResolvedResource {
  /** What `Ref` returns. */
  readonly ref: string;
  /** What `Fn::GetAtt` returns, by attribute name. */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface ResolutionScope {
  readonly pseudoParameters: Readonly<Record<string, string>>;
  readonly parameters: Readonly<Record<string, string>>;
  readonly resources: ReadonlyMap<string, ResolvedResource>;
}

/** Marks a property removed by `Ref: AWS::NoValue`. */
const NO_VALUE = Symbol('AWS::NoValue');

export function resolveValue(value: unknown, scope: ResolutionScope): unknown {
  const resolved = resolve(value, scope);
  return resolved === NO_VALUE ? undefined : resolved;
}

export function resolveString(value: unknown, scope: ResolutionScope, what: string): string {
  const resolved = resolveValue(value, scope);
  if (typeof resolved === 'string') return resolved;
  if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
  throw new Error(`${what} must resolve to a string, got ${JSON.stringify(resolved)}`);
}

function resolve(value: unknown, scope: ResolutionScope): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => resolve(item, scope)).filter((item) => item !== NO_VALUE);
  }
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [first] = entries;
  if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
    return intrinsic(first[0], first[1], scope);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of entries) {
    const resolved = resolve(item, scope);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}

function intrinsic(name: string, argument: unknown, scope: ResolutionScope): unknown {
  switch (name) {
    case 'Ref':
      return argument === 'AWS::NoValue' ? NO_VALUE : ref(String(argument), scope);
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = getAttArguments(argument);
      return getAtt(logicalId, attribute, scope);
    }
    case 'Fn::Join': {
      const [separator, items] = argument as [string, unknown[]];
      const list = resolve(items, scope);
      if (!Array.isArray(list)) throw new Error(`Fn::Join needs a list, got ${JSON.stringify(list)}`);
      return list.map((item) => stringOf(item, 'Fn::Join item')).join(separator);
    }
    case 'Fn::Sub': {
      const [template, variables] = Array.isArray(argument)
        ? (argument as [string, Record<string, unknown>])
        : [argument as string, {}];
      const resolvedVariables = resolve(variables, scope) as Record<string, unknown>;
      return template.replace(/\$\{([^}]+)\}/g, (_, reference: string) => {
        if (reference.startsWith('!')) return `\${${reference.slice(1)}}`;
        if (reference in resolvedVariables) return stringOf(resolvedVariables[reference], reference);
        const [logicalId, attribute] = reference.split(/\.(.*)/s);
        return attribute && logicalId ? getAtt(logicalId, attribute, scope) : ref(reference, scope);
      });
    }
    case 'Fn::Select': {
      const [index, items] = argument as [unknown, unknown];
      const list = resolve(items, scope);
      const position = Number(resolve(index, scope));
      if (!Array.isArray(list) || !(position in list)) throw new Error(`Fn::Select ${position} out of range`);
      return list[position];
    }
    case 'Fn::Split': {
      const [separator, source] = argument as [string, unknown];
      return stringOf(resolve(source, scope), 'Fn::Split source').split(separator);
    }
    default:
      throw new Error(`Intrinsic function ${name} is not supported by the local provisioner`);
  }
}

function ref(name: string, scope: ResolutionScope): string {
  const value = scope.pseudoParameters[name] ?? scope.parameters[name] ?? scope.resources.get(name)?.ref;
  if (value === undefined) throw new Error(`Ref to ${name}, which is not provisioned (yet)`);
  return value;
}

function getAtt(logicalId: string, attribute: string, scope: ResolutionScope): string {
  const resource = scope.resources.get(logicalId);
  if (!resource) throw new Error(`Fn::GetAtt on ${logicalId}, which is not provisioned (yet)`);
  const value = resource.attributes[attribute];
  if (value === undefined) throw new Error(`Fn::GetAtt ${logicalId}.${attribute} is not supported locally`);
  return value;
}

function getAttArguments(argument: unknown): [string, string] {
  if (typeof argument === 'string') {
    const [logicalId = '', attribute = ''] = argument.split(/\.(.*)/s);
    return [logicalId, attribute];
  }
  const [logicalId, attribute] = argument as [string, string];
  return [logicalId, attribute];
}

function stringOf(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`${what} must be a string, got ${JSON.stringify(value)}`);
}

/** The logical ids a value refers to through Ref, Fn::GetAtt and Fn::Sub. */
export function referencedIds(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedIds(item, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'Ref' && typeof item === 'string') into.add(item);
      else if (key === 'Fn::GetAtt') into.add(getAttArguments(item)[0]);
      else if (key === 'Fn::Sub') {
        const [template, variables] = Array.isArray(item) ? item : [item, {}];
        for (const match of String(template).matchAll(/\$\{([^}!][^}.]*)/g)) {
          if (match[1] && !(match[1] in (variables as object))) into.add(match[1]);
        }
        referencedIds(variables, into);
      } else referencedIds(item, into);
    }
  }
  return into;
}
