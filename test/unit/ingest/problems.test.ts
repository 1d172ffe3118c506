import { MAX_REPORTED_PROBLEMS, Problems, errorBody } from '../../../services/ingest/problems';

const many = (n: number) => Array.from({ length: n }, (_, i) => ({ field: `batch[${i}]`, message: 'a message must be a JSON object, not a string' }));

describe('error bodies', () => {
  it('lists every problem when there are at most 20, in both shapes', () => {
    const body = errorBody(many(MAX_REPORTED_PROBLEMS));
    expect(body.errors).toHaveLength(20);
    expect(body.meta.errors).toHaveLength(20);
    expect(body.meta.errors[19]).toBe('batch[19]: a message must be a JSON object, not a string');
  });

  it('cuts both lists at 20 problems and ends them with one "and N more problems" entry', () => {
    const body = errorBody(many(25), 159_975);
    expect(body.errors).toHaveLength(21);
    expect(body.meta.errors).toHaveLength(21);
    expect(body.errors[20]).toEqual({ field: '', message: 'and 159980 more problems' });
    expect(body.meta.errors[20]).toBe('and 159980 more problems');
    expect(errorBody(many(21)).meta.errors[20]).toBe('and 1 more problem');
  });
});

describe('Problems', () => {
  it('keeps the first 20 and counts the rest, batch items included', () => {
    const item = new Problems();
    for (let i = 0; i < 30; i += 1) item.add(`f${i}`, 'bad');
    expect(item.list).toHaveLength(20);
    expect(item.omitted).toBe(10);
    const batch = new Problems();
    batch.add('x', 'first');
    batch.addAll('batch[0]', item);
    expect(batch.list).toHaveLength(20);
    expect(batch.list[1]).toEqual({ field: 'batch[0].f0', message: 'bad' });
    expect(batch.omitted).toBe(11);
    expect(batch.ok).toBe(false);
  });

  it('is not ok when only omitted problems remain to count', () => {
    const outer = new Problems();
    const inner = new Problems();
    inner.omitted = 3;
    outer.addAll('batch[1]', inner);
    expect(outer.ok).toBe(false);
  });
});
