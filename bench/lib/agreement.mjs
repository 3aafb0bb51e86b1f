// Before anything is measured: the servers compared must give the same answers, or their figures
// compare different work. Fails the run when they do not.
import { deepStrictEqual } from 'node:assert/strict';

async function call(server, { token, path, method = 'GET', body }) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'x-forwarded-proto': 'https',
      ...(body && { 'content-type': 'application/json' }),
    },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

function differs(a, b) {
  try {
    deepStrictEqual(a, b);
    return undefined;
  } catch (err) {
    return err.message.split('\n').slice(0, 30).join('\n');
  }
}

/**
 * For each user given: GET /api/boards and GET /api/boards/{their board} give deep-equal JSON
 * (status 200) from every server; then one POST /api/boards to each server in `writers` gives 201
 * and a body with the same keys, and the same values but for id and timestamps. Reads go first,
 * so that the boards the POSTs create are not in the pages compared. Returns a line per check;
 * throws on the first disagreement.
 */
export async function checkAgreement({ readers, writers, users, log = () => undefined }) {
  const lines = [];
  for (const user of users) {
    for (const path of ['/api/boards', `/api/boards/${user.boardId}`]) {
      const answers = [];
      for (const server of readers) answers.push({ server, ...(await call(server, { token: user.token, path })) });
      const [first, ...others] = answers;
      for (const answer of answers) {
        if (answer.status !== 200) throw new Error(`agreement: GET ${path} as ${user.slug} on ${answer.server.label}: status ${answer.status}\n${JSON.stringify(answer.json)}`);
      }
      for (const other of others) {
        const diff = differs(other.json, first.json);
        if (diff) throw new Error(`agreement: GET ${path} as ${user.slug}: ${other.server.label} differs from ${first.server.label}\n${diff}`);
      }
      lines.push(`GET ${path.replace(user.boardId, '{id}')} as a user of ${user.slug}: deep-equal on ${readers.map((s) => s.label).join(', ')}`);
    }
  }
  const [user] = users;
  const body = { title: 'Agreement check', description: 'same answer everywhere', is_public: false, settings: { theme: 'dark' } };
  const created = [];
  for (const server of writers) {
    const answer = await call(server, { token: user.token, path: '/api/boards', method: 'POST', body });
    if (answer.status !== 201) throw new Error(`agreement: POST /api/boards on ${server.label}: status ${answer.status}\n${JSON.stringify(answer.json)}`);
    created.push({ server, json: answer.json });
  }
  const volatile = ({ id, created_at: createdAt, updated_at: updatedAt, ...rest }) => ({ id: typeof id, createdAt: typeof createdAt, updatedAt: typeof updatedAt, ...rest });
  const [first, ...others] = created;
  for (const other of others) {
    const keys = differs(Object.keys(other.json).sort(), Object.keys(first.json).sort());
    if (keys) throw new Error(`agreement: POST /api/boards: ${other.server.label}'s body has other keys than ${first.server.label}'s\n${keys}`);
    const values = differs(volatile(other.json), volatile(first.json));
    if (values) throw new Error(`agreement: POST /api/boards: ${other.server.label} differs from ${first.server.label} (id and timestamps aside)\n${values}`);
  }
  lines.push(`POST /api/boards: same keys and values (id and timestamps aside) on ${writers.map((s) => s.label).join(', ')}`);
  for (const line of lines) log(`  agreement: ${line}`);
  return lines;
}
