import { randomUUID } from 'node:crypto';
import { describeWithPostgres } from 'test/support/environment';
import {
  boardsApiSuite,
  type Board,
  BODY_LIMIT,
  expectErrorBody,
} from 'test/support/boards-api-suite';

/**
 * Input validation of the boards routes with the documented error bodies: unknown fields,
 * malformed UUID path parameters, title and settings limits, bodies over
 * BOARDS_API_BODY_LIMIT_BYTES and invalid JSON.
 */

describeWithPostgres('boards API: validation', () => {
  const suite = boardsApiSuite();
  const { api, tokens, ids, createBoard, boardOf, listAll } = suite;

  let boardId: string;

  beforeAll(async () => {
    boardId = (await boardOf(tokens.alice, { title: 'Validation' })).id;
  });

  it.each([
    ['tenant_id'],
    ['owner_id'],
    ['id'],
    ['version'],
    ['created_at'],
    ['my_role'],
    ['unknown_field'],
  ])('an unknown field (%s) is 400 on POST and PATCH, and nothing is written', async (field) => {
    const value = field === 'version' ? 99 : randomUUID();
    const created = await createBoard(tokens.alice, { title: `with ${field}`, [field]: value });
    expectErrorBody(created, 400, 'validation_failed', new RegExp(field));
    const patched = await api({
      method: 'PATCH',
      path: `/api/boards/${boardId}`,
      token: tokens.alice,
      body: { title: 'x', [field]: value },
    });
    expectErrorBody(patched, 400, 'validation_failed', new RegExp(field));
    const board = await api<Board>({
      method: 'GET',
      path: `/api/boards/${boardId}`,
      token: tokens.alice,
    });
    expect(board.body).toMatchObject({ title: 'Validation', owner_id: ids.alice, version: 1 });
    expect(
      await listAll(tokens.alice, `/api/boards?q=${encodeURIComponent(`with ${field}`)}`),
    ).toEqual([]);
  });

  // Valid bodies, so that only the path parameter is wrong.
  const member = { user_id: randomUUID(), role: 'viewer' };
  const generation = { generator_name: 'gen', artifact_type: 'image' };
  it.each([
    ['GET', '/api/boards/not-a-uuid', 'board_id', undefined],
    ['PATCH', '/api/boards/123', 'board_id', { title: 'x' }],
    ['DELETE', "/api/boards/'%20OR%201=1", 'board_id', undefined],
    ['POST', '/api/boards/x/transfer', 'board_id', { new_owner_id: randomUUID() }],
    ['GET', '/api/boards/x/members', 'board_id', undefined],
    ['POST', '/api/boards/x/members', 'board_id', member],
    ['PATCH', '/api/boards/{board}/members/x', 'user_id', { role: 'editor' }],
    ['DELETE', '/api/boards/{board}/members/x', 'user_id', undefined],
    ['GET', '/api/boards/x/generations', 'board_id', undefined],
    ['POST', '/api/boards/x/generations', 'board_id', generation],
    ['GET', '/api/generations/x', 'generation_id', undefined],
    ['DELETE', '/api/generations/00000000-0000-0000-0000-00000000000g', 'generation_id', undefined],
    ['POST', '/api/generations/x/cancel', 'generation_id', undefined],
  ])(
    '%s %s: a malformed UUID path parameter is 400 with the documented body',
    async (method, template, name, body) => {
      const response = await api({
        method,
        path: template.replace('{board}', boardId),
        token: tokens.alice,
        body,
      });
      expectErrorBody(response, 400, 'invalid_uuid', `Path parameter ${name} must be a UUID.`);
      expect(response.body).toMatchObject({ error: 'Bad Request' });
    },
  );

  it('title: 1–255 characters', async () => {
    expect((await createBoard(tokens.alice, { title: 't'.repeat(255) })).status).toBe(201);
    expectErrorBody(
      await createBoard(tokens.alice, { title: 't'.repeat(256) }),
      400,
      'validation_failed',
      /title/,
    );
    expectErrorBody(
      await createBoard(tokens.alice, { title: '' }),
      400,
      'validation_failed',
      /title/,
    );
    expectErrorBody(await createBoard(tokens.alice, {}), 400, 'validation_failed', /title/);
    expectErrorBody(
      await createBoard(tokens.alice, { title: 42 }),
      400,
      'validation_failed',
      /title/,
    );
    const patched = await api({
      method: 'PATCH',
      path: `/api/boards/${boardId}`,
      token: tokens.alice,
      body: { title: 't'.repeat(256) },
    });
    expectErrorBody(patched, 400, 'validation_failed', /title/);
  });

  it('settings: an object of at most 64 KB as JSON', async () => {
    const padding = (bytes: number) => ({ pad: 'x'.repeat(bytes - '{"pad":""}'.length) });
    expect(JSON.stringify(padding(65_536)).length).toBe(65_536);
    expect(
      (await createBoard(tokens.alice, { title: 'fits', settings: padding(65_536) })).status,
    ).toBe(201);
    expectErrorBody(
      await createBoard(tokens.alice, { title: 'too big', settings: padding(65_537) }),
      400,
      'validation_failed',
      /settings/,
    );
    expectErrorBody(
      await createBoard(tokens.alice, { title: 'array', settings: [1, 2] }),
      400,
      'validation_failed',
      /settings/,
    );
    const patched = await api({
      method: 'PATCH',
      path: `/api/boards/${boardId}`,
      token: tokens.alice,
      body: { settings: padding(65_537) },
    });
    expectErrorBody(patched, 400, 'validation_failed', /settings/);
  });

  it('a body over BOARDS_API_BODY_LIMIT_BYTES is 413 with the documented body', async () => {
    const body = { title: 'huge', description: 'd'.repeat(BODY_LIMIT) };
    for (const response of [
      await createBoard(tokens.alice, body),
      await api({ method: 'PATCH', path: `/api/boards/${boardId}`, token: tokens.alice, body }),
    ]) {
      expectErrorBody(response, 413, 'payload_too_large');
      expect(response.body).toMatchObject({ error: 'Payload Too Large' });
    }
    const board = await api<Board>({
      method: 'GET',
      path: `/api/boards/${boardId}`,
      token: tokens.alice,
    });
    expect(board.body.description).toBeNull();
  });

  it('invalid JSON is 400 with the documented body', async () => {
    for (const [method, path, rawBody] of [
      ['POST', '/api/boards', '{"title": "x",'],
      ['PATCH', `/api/boards/${boardId}`, 'nope'],
    ]) {
      const response = await api({ method, path, token: tokens.alice, rawBody });
      expectErrorBody(response, 400, 'malformed_json');
      expect(response.body).toMatchObject({ error: 'Bad Request' });
    }
  });

  // The filter's own sentences (src/core/errors/http-exception.filter.ts), not the parser's text.
  it("413 and invalid-JSON bodies carry the filter's sentences, not Fastify's messages", async () => {
    const tooLarge = await createBoard(tokens.alice, { title: 'd'.repeat(BODY_LIMIT) });
    expectErrorBody(
      tooLarge,
      413,
      'payload_too_large',
      'The request body is larger than the server accepts.',
    );
    const invalid = await api({
      method: 'POST',
      path: '/api/boards',
      token: tokens.alice,
      rawBody: '{',
    });
    expectErrorBody(invalid, 400, 'malformed_json', 'The request body is not valid JSON.');
  });
});
