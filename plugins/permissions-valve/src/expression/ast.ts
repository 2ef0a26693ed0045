/** The rule language's syntax tree: built once when the rules load, walked for every check. */
export type Node =
  | { readonly type: 'literal'; readonly value: string | number | boolean | null | undefined }
  | { readonly type: 'regex'; readonly value: RegExp }
  | { readonly type: 'array'; readonly elements: readonly Node[] }
  /** `user`, `data`, `oldData`, `now`, `action`, `name` or a path variable such as `$id`. */
  | { readonly type: 'identifier'; readonly name: string; readonly pos: number }
  /** `a.b` (property is a string) or `a[expr]`; `optional` for `?.`. */
  | { readonly type: 'member'; readonly object: Node; readonly property: string | Node; readonly optional: boolean; readonly pos: number }
  /** `receiver.method(args)`: only allow-listed string and array methods. */
  | { readonly type: 'method'; readonly object: Node; readonly method: string; readonly args: readonly Node[]; readonly optional: boolean; readonly pos: number }
  /** `_(name)`: the current data of another record. */
  | { readonly type: 'crossReference'; readonly arg: Node; readonly pos: number }
  | { readonly type: 'unary'; readonly operator: '!' | '-' | '+' | 'typeof'; readonly argument: Node }
  | { readonly type: 'binary'; readonly operator: BinaryOperator; readonly left: Node; readonly right: Node }
  | { readonly type: 'logical'; readonly operator: '&&' | '||' | '??'; readonly left: Node; readonly right: Node }
  | { readonly type: 'conditional'; readonly test: Node; readonly consequent: Node; readonly alternate: Node };

export type BinaryOperator = '===' | '!==' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%';

/** The nodes directly below `node`, for walks that check or measure the tree. */
export function children(node: Node): readonly Node[] {
  switch (node.type) {
    case 'array':
      return node.elements;
    case 'member':
      return typeof node.property === 'string' ? [node.object] : [node.object, node.property];
    case 'method':
      return [node.object, ...node.args];
    case 'crossReference':
      return [node.arg];
    case 'unary':
      return [node.argument];
    case 'binary':
    case 'logical':
      return [node.left, node.right];
    case 'conditional':
      return [node.test, node.consequent, node.alternate];
    default:
      return [];
  }
}
