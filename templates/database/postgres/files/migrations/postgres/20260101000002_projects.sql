-- Projects, the CRUD example: owned by a user, soft-deleted via deleted_at.
create table projects (
    id uuid primary key,
    owner_id uuid not null references users (id) on delete cascade,
    name text not null,
    description text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    deleted_at timestamptz
);

-- Serves the owner's list, newest first, without touching deleted rows.
create index projects_owner_id_created_at_idx on projects (owner_id, created_at desc)
    where deleted_at is null;
