import { uniqueMarker } from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { boardsApiSuite, expectErrorBody, type Generation } from 'test/support/boards-api-suite';

/**
 * Idempotency-Key on POST routes: the same key and body replay the first response, a different
 * body is 422, keys are scoped to the user, and malformed keys are 400.
 */

describeWithPostgres('boards API: Idempotency-Key', () => {
  const suite = boardsApiSuite();
  const { api, tokens, ids, createBoard, boardOf, listAll } = suite;

  it('the same key and body replay the first response and create one board', async () => {
    const m = uniqueMarker('idem');
    const key = `key-${m}`;
    const body = { title: `${m} once`, settings: { n: 1 } };
    const first = await createBoard(tokens.alice, body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const second = await createBoard(tokens.alice, body, { 'idempotency-key': key });
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(await listAll(tokens.alice, `/api/boards?q=${m}`)).toHaveLength(1);

    const different = await createBoard(
      tokens.alice,
      { ...body, title: `${m} other` },
      { 'idempotency-key': key },
    );
    expectErrorBody(different, 422, 'idempotency_key_reused');
    expect(await listAll(tokens.alice, `/api/boards?q=${m}`)).toHaveLength(1);
  });

  it('keys are scoped to the user: the same key from another user creates a separate board', async () => {
    const m = uniqueMarker('idem-user');
    const key = `key-${m}`;
    const body = { title: `${m} shared key`, is_public: true };
    const alices = await createBoard(tokens.alice, body, { 'idempotency-key': key });
    const bobs = await createBoard(tokens.bob, body, { 'idempotency-key': key });
    expect([alices.status, bobs.status]).toEqual([201, 201]);
    expect(bobs.headers.get('idempotent-replayed')).toBeNull();
    expect(bobs.body.id).not.toBe(alices.body.id);
    expect(bobs.body.owner_id).toBe(ids.bob);
    expect(await listAll(tokens.carol, `/api/boards?q=${m}`)).toHaveLength(2);
  });

  it.each([
    ['300 characters', 'k'.repeat(300)],
    ['a space', 'has space'],
    ['non-ASCII', 'clé'],
  ])('an invalid key (%s) is 400 and creates nothing', async (_, key) => {
    const m = uniqueMarker('badkey');
    const response = await createBoard(tokens.alice, { title: m }, { 'idempotency-key': key });
    expectErrorBody(response, 400, 'invalid_idempotency_key', /Idempotency-Key/);
    expect(await listAll(tokens.alice, `/api/boards?q=${m}`)).toEqual([]);
  });

  it('works on the other POST routes too (generation create replays the same generation)', async () => {
    const board = await boardOf(tokens.alice, { title: 'Idempotent generations' });
    const call = () =>
      api<Generation>({
        method: 'POST',
        path: `/api/boards/${board.id}/generations`,
        token: tokens.alice,
        headers: { 'idempotency-key': `gen-${board.id}` },
        body: { generator_name: 'gen', artifact_type: 'image' },
      });
    const first = await call();
    const second = await call();
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.id).toBe(first.body.id);
    expect(await listAll(tokens.alice, `/api/boards/${board.id}/generations`)).toHaveLength(1);
  });
});

/**
 * Without audit events a create is one statement, which carries the request transaction's COMMIT
 * on a PostgreSQL server; with an Idempotency-Key the record is written after it, in the same
 * transaction, so the key keeps the transaction open until then.
 */
describeWithPostgres('boards API: Idempotency-Key without audit events', () => {
  const suite = boardsApiSuite({ auditLogging: false });
  const { tokens, createBoard, listAll } = suite;

  it('a create without a key commits with its insert; with a key it is recorded and replayed', async () => {
    const m = uniqueMarker('idem-last');
    const plain = await createBoard(tokens.alice, { title: `${m} plain` });
    expect(plain.status).toBe(201);
    const key = `key-${m}`;
    const body = { title: `${m} keyed` };
    const first = await createBoard(tokens.alice, body, { 'idempotency-key': key });
    const second = await createBoard(tokens.alice, body, { 'idempotency-key': key });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(await listAll(tokens.alice, `/api/boards?q=${m}`)).toHaveLength(2);
  });
});
