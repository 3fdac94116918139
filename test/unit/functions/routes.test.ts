import { describe, expect, it } from 'vitest';
import { PATH_PARAM_RESOURCES, ROUTES } from '#functions/http/routes.ts';

describe('the route table', () => {
  it('names the resource of every path parameter, for its 404', () => {
    const params = new Set(
      ROUTES.flatMap((route) => [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1])),
    );
    expect([...params].sort()).toEqual(Object.keys(PATH_PARAM_RESOURCES).sort());
  });
});
