-- Projects, the CRUD example: owned by a user, soft-deleted via deleted_at.
create table projects (
    id blob primary key not null,
    owner_id blob not null references users (id) on delete cascade,
    name text not null,
    description text,
    created_at text not null,
    updated_at text not null,
    deleted_at text
);

-- Serves the owner's list, newest first, without touching deleted rows.
create index projects_owner_id_created_at_idx on projects (owner_id, created_at desc)
    where deleted_at is null;
