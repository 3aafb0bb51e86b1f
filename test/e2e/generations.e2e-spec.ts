import { randomUUID } from 'node:crypto';
import { inTenant } from 'test/factories/seed';
import { type ApiResult } from 'test/sdk/api-client';
import { describeWithPostgres } from 'test/support/environment';
import {
  boardsApiSuite,
  expectErrorBody,
  type Generation,
  type Page,
  UUID,
} from 'test/support/boards-api-suite';

/**
 * Generations of a board (DESIGN.md §3–4): create, get, list with status and artifact-type
 * filters and cursor pages, cancel by status, delete, and deletion with their board.
 */

describeWithPostgres('boards API: generations', () => {
  const suite = boardsApiSuite();
  const { api, tokens, ids, boardOf, listAll } = suite;

  let boardId: string;

  beforeAll(async () => {
    boardId = (await boardOf(tokens.alice, { title: 'Generations' })).id;
  });

  const createGeneration = (body: Record<string, unknown>, token = tokens.alice) =>
    api<Generation>({ method: 'POST', path: `/api/boards/${boardId}/generations`, token, body });

  /** Sets a generation's status directly (workers do this in production; no API changes it). */
  const setStatus = async (id: string, status: string) =>
    inTenant(await suite.db.tenantData(suite.tenantId, 'runtime'), suite.tenantId, (runner) =>
      runner.query('UPDATE generations SET status = $2 WHERE id = $1', [id, status]),
    );

  it('create is 201 with status pending; get returns it', async () => {
    const created = await createGeneration({
      generator_name: 'flux-pro',
      artifact_type: 'image',
      input_params: { prompt: 'a red fox', steps: 30 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(UUID),
      board_id: boardId,
      user_id: ids.alice,
      generator_name: 'flux-pro',
      artifact_type: 'image',
      input_params: { prompt: 'a red fox', steps: 30 },
      status: 'pending',
      storage_url: null,
      progress: 0,
    });
    const fetched = await api({
      method: 'GET',
      path: `/api/generations/${created.body.id}`,
      token: tokens.alice,
    });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(created.body);
  });

  it.each([
    [{ generator_name: 'x', artifact_type: 'hologram' }],
    [{ generator_name: '', artifact_type: 'image' }],
    [{ generator_name: 'bad name!', artifact_type: 'image' }],
    [{ artifact_type: 'image' }],
    [{ generator_name: 'x', artifact_type: 'image', input_params: 'text' }],
    [{ generator_name: 'x', artifact_type: 'image', status: 'completed' }],
    [{ generator_name: 'x', artifact_type: 'image', user_id: randomUUID() }],
  ])('create with %j is 400', async (body) => {
    expectErrorBody(await createGeneration(body), 400, 'validation_failed');
  });

  it('list filters by status and artifact type and pages by cursor', async () => {
    const board = await boardOf(tokens.alice, { title: 'Filters' });
    const path = `/api/boards/${board.id}/generations`;
    const made: Generation[] = [];
    for (const artifact_type of ['image', 'video', 'image', 'audio', 'image']) {
      const response = await api<Generation>({
        method: 'POST',
        path,
        token: tokens.alice,
        body: { generator_name: 'gen', artifact_type },
      });
      made.push(response.body);
    }
    await setStatus(made[0].id, 'completed');
    await setStatus(made[1].id, 'processing');

    const ids_ = async (query: string) =>
      (await listAll<Generation>(tokens.alice, `${path}?${query}`)).map((g) => g.id);
    expect(new Set(await ids_(''))).toEqual(new Set(made.map((g) => g.id)));
    expect(new Set(await ids_('artifact_type=image'))).toEqual(
      new Set([made[0].id, made[2].id, made[4].id]),
    );
    expect(await ids_('status=completed')).toEqual([made[0].id]);
    expect(new Set(await ids_('status=pending'))).toEqual(
      new Set([made[2].id, made[3].id, made[4].id]),
    );
    expect(new Set(await ids_('status=pending&artifact_type=image'))).toEqual(
      new Set([made[2].id, made[4].id]),
    );
    expect(await ids_('artifact_type=model')).toEqual([]);
    expectErrorBody(
      await api({ method: 'GET', path: `${path}?status=done`, token: tokens.alice }),
      400,
      'validation_failed',
    );
    expectErrorBody(
      await api({ method: 'GET', path: `${path}?artifact_type=gif`, token: tokens.alice }),
      400,
      'validation_failed',
    );
    expectErrorBody(
      await api({ method: 'GET', path: `${path}?cursor=zzz`, token: tokens.alice }),
      400,
      'invalid_cursor',
    );

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: ApiResult<Page<Generation>> = await api<Page<Generation>>({
        method: 'GET',
        path: `${path}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        token: tokens.alice,
      });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((g) => g.id));
      cursor = page.body.next_cursor;
    } while (cursor !== null && seen.length < 20);
    expect(seen).toEqual(await ids_('limit=100'));
    expect(seen).toHaveLength(5);
  });

  it.each([
    ['pending', 200],
    ['processing', 200],
    ['completed', 409],
    ['failed', 409],
    ['cancelled', 409],
  ])('cancel a %s generation → %i', async (status, expected) => {
    const created = await createGeneration({ generator_name: 'gen', artifact_type: 'text' });
    await setStatus(created.body.id, status);
    const cancelled = await api<Generation>({
      method: 'POST',
      path: `/api/generations/${created.body.id}/cancel`,
      token: tokens.alice,
    });
    if (expected === 200) {
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      const again = await api({
        method: 'POST',
        path: `/api/generations/${created.body.id}/cancel`,
        token: tokens.alice,
      });
      expectErrorBody(again, 409, 'generation_not_cancellable');
    } else {
      expectErrorBody(cancelled, 409, 'generation_not_cancellable', new RegExp(status));
      const fetched = await api<Generation>({
        method: 'GET',
        path: `/api/generations/${created.body.id}`,
        token: tokens.alice,
      });
      expect(fetched.body.status).toBe(status);
    }
  });

  it('delete is 204; the generation is then 404 and gone from the list', async () => {
    const created = await createGeneration({ generator_name: 'gen', artifact_type: 'lora' });
    const path = `/api/generations/${created.body.id}`;
    const deleted = await api({ method: 'DELETE', path, token: tokens.alice });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectErrorBody(
      await api({ method: 'GET', path, token: tokens.alice }),
      404,
      'generation_not_found',
    );
    expectErrorBody(
      await api({ method: 'POST', path: `${path}/cancel`, token: tokens.alice }),
      404,
      'generation_not_found',
    );
    const listed = await listAll<Generation>(
      tokens.alice,
      `/api/boards/${boardId}/generations?limit=100`,
    );
    expect(listed.map((g) => g.id)).not.toContain(created.body.id);
  });

  it('deleting a board deletes its generations', async () => {
    const board = await boardOf(tokens.alice, { title: 'Cascade' });
    const created = await api<Generation>({
      method: 'POST',
      path: `/api/boards/${board.id}/generations`,
      token: tokens.alice,
      body: { generator_name: 'gen', artifact_type: 'model' },
    });
    expect(
      (await api({ method: 'DELETE', path: `/api/boards/${board.id}`, token: tokens.alice }))
        .status,
    ).toBe(204);
    expectErrorBody(
      await api({
        method: 'GET',
        path: `/api/generations/${created.body.id}`,
        token: tokens.alice,
      }),
      404,
      'generation_not_found',
    );
  });
});
