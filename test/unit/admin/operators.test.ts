import { createHash } from 'node:crypto';
import { OperatorsFileError, operatorOf, parseOperators } from '../../../services/admin/operators';

const sha = (token: string) => createHash('sha256').update(token).digest('hex');

describe('operators of the admin API', () => {
  const operators = parseOperators({ operators: [{ name: 'alice', token_sha256: sha('alice-token-0123456789') }, { name: 'bob', token_sha256: sha('bob-token-0123456789') }] }, 'test');

  it('knows an operator by the bearer token whose digest the file holds, and nobody by anything else', () => {
    expect(operatorOf('Bearer alice-token-0123456789', operators)?.name).toBe('alice');
    expect(operatorOf('bearer bob-token-0123456789', operators)?.name).toBe('bob');
    expect(operatorOf('Bearer alice-token-0123456780', operators)).toBeNull();
    expect(operatorOf(`Basic ${Buffer.from('alice:alice-token-0123456789').toString('base64')}`, operators)).toBeNull();
    expect(operatorOf(undefined, operators)).toBeNull();
    expect(operatorOf(`Bearer ${'x'.repeat(600)}`, operators)).toBeNull();
  });

  it('refuses a file with a token in clear or a bad name, naming each problem', () => {
    expect(() => parseOperators({ operators: [{ name: 'carol', token_sha256: 'carol-token' }, { name: 'bad name', token_sha256: sha('x') }] }, 'ops.json')).toThrow(
      new OperatorsFileError('ops.json: operators[0].token_sha256 must be 64 lower-case hex digits (the SHA-256 of the token); operators[1].name must match /^[A-Za-z0-9_.@-]{1,64}$/'),
    );
    expect(() => parseOperators({}, 'ops.json')).toThrow(/expected \{"operators": \[\.\.\.\]\}/);
  });
});
