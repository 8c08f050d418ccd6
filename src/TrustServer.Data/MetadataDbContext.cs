using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using TrustServer.Data.Model;

namespace TrustServer.Data;

/// <summary>
/// The metadata database: <c>tuf_files</c> and <c>changefeed</c> (spec validation.md §10), and <c>audit_log</c>. Provider-neutral model;
/// <see cref="Providers.PostgresMetadataDbContext"/> and <see cref="Providers.SqliteMetadataDbContext"/> add the
/// provider specifics and own one migration set each.
/// </summary>
internal abstract class MetadataDbContext : DbContext
{
    /// <summary>
    /// EF migrations history table of this context. Not the default <c>__EFMigrationsHistory</c>: the signer's key
    /// store (another context) may share the database and keeps its own history.
    /// </summary>
    public const string MigrationsHistoryTable = "__metadata_migrations";

    /// <summary>Maximum length of GUN and role names (Notary's <c>varchar(255)</c>, server-api.md §9).</summary>
    public const int NameMaxLength = 255;

    /// <summary>Maximum length of a webhook endpoint URL.</summary>
    public const int WebhookEndpointUrlMaxLength = Webhooks.WebhookLimits.UrlMaxLength;

    /// <summary>Maximum length of a stored webhook delivery error.</summary>
    public const int WebhookErrorMaxLength = Webhooks.WebhookLimits.ErrorMaxLength;

    /// <summary>Creates the context.</summary>
    protected MetadataDbContext(DbContextOptions options)
        : base(options)
    {
    }

    /// <summary>The <c>tuf_files</c> table.</summary>
    public DbSet<TufFileEntity> TufFiles => Set<TufFileEntity>();

    /// <summary>The <c>changefeed</c> table.</summary>
    public DbSet<ChangeEntity> Changes => Set<ChangeEntity>();

    /// <summary>The <c>audit_log</c> table: append-only (see <see cref="SaveChangesAsync(bool, CancellationToken)"/>).</summary>
    public DbSet<AuditEntity> AuditLog => Set<AuditEntity>();

    /// <summary>The <c>webhook_outbox</c> table (events to deliver, written in the change's transaction).</summary>
    public DbSet<WebhookOutboxEntity> WebhookOutbox => Set<WebhookOutboxEntity>();

    /// <summary>The <c>webhook_attempts</c> table (delivery attempts of outbox events).</summary>
    public DbSet<WebhookAttemptEntity> WebhookAttempts => Set<WebhookAttemptEntity>();

    /// <summary>The <c>webhook_expiry_notices</c> table (expiry crossings already announced).</summary>
    public DbSet<WebhookExpiryNoticeEntity> WebhookExpiryNotices => Set<WebhookExpiryNoticeEntity>();

    /// <summary>
    /// Adds the outbox rows of <paramref name="messages"/> (all pending, due at once) with this context's next save, so
    /// that they are written in the same transaction as the change they announce.
    /// </summary>
    public void AddWebhookMessages(string eventType, string gun, IReadOnlyList<Webhooks.WebhookMessage> messages, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            WebhookOutbox.Add(new WebhookOutboxEntity
            {
                CreatedAt = time,
                EventId = message.EventId,
                EventType = eventType,
                Gun = gun,
                EndpointUrl = message.EndpointUrl,
                Payload = message.Payload,
                Status = Webhooks.WebhookStatuses.Pending,
                NextAttemptAt = time,
            });
        }
    }

    /// <summary>
    /// Adds <paramref name="entry"/> to <c>audit_log</c> with this context's next save, so that it is written in the
    /// same transaction as the change it describes (writers inside <see cref="EfMetadataStore"/>'s per-GUN
    /// transaction call this once; the store logs it after the commit).
    /// </summary>
    public void AddAudit(AuditEntry entry, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(entry);
        AuditLog.Add(new AuditEntity
        {
            CreatedAt = time,
            Action = entry.Action,
            Outcome = entry.Outcome,
            Principal = Cut(entry.Actor.Principal, AuditActor.MaxFieldLength)!,
            RemoteAddress = Cut(entry.Actor.RemoteAddress, AuditActor.MaxFieldLength),
            RequestId = Cut(entry.Actor.RequestId, AuditActor.MaxFieldLength),
            Gun = entry.Gun,
            Files = entry.Files,
            Detail = Cut(entry.Detail, AuditEntry.MaxDetailLength),
        });
    }

    /// <summary>The audit entries this context added and saved (to log after the commit).</summary>
    public IEnumerable<AuditRecord> SavedAuditEntries() =>
        ChangeTracker.Entries<AuditEntity>().Where(e => e.State == EntityState.Unchanged).Select(e => ToRecord(e.Entity));

    /// <summary>The public form of a row.</summary>
    public static AuditRecord ToRecord(AuditEntity row) => new(
        row.Id,
        row.CreatedAt,
        new AuditEntry(row.Action, row.Outcome, new AuditActor(row.Principal, row.RemoteAddress, row.RequestId), row.Gun, row.Files, row.Detail));

    /// <inheritdoc />
    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        RefuseAuditChanges();
        return base.SaveChanges(acceptAllChangesOnSuccess);
    }

    /// <inheritdoc />
    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        RefuseAuditChanges();
        return base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    // Append-only in code: a tracked audit row is only ever inserted (the database refuses UPDATE too, see the
    // AddAuditLog migration).
    private void RefuseAuditChanges()
    {
        if (ChangeTracker.Entries<AuditEntity>().Any(e => e.State is EntityState.Modified or EntityState.Deleted))
        {
            throw new InvalidOperationException("audit_log is append-only: entries are never updated or deleted (retention excepted).");
        }
    }

    /// <summary>At most <paramref name="length"/> characters of <paramref name="value"/> (what the audit columns keep).</summary>
    internal static string? Cut(string? value, int length) => value is null || value.Length <= length ? value : value[..length];

    // The roles of one GUN by a loose index scan over (gun, role, version): one index probe per distinct role instead
    // of reading every stored version (a GROUP BY over a repository with thousands of versions costs milliseconds,
    // this stays near 0.2 ms). Plain SQL that PostgreSQL and SQLite both run; the GUN is the parameter @gun. The
    // recursion ends with one NULL row, which the queries below drop.
    protected const string RolesOfGunSql = """
        WITH RECURSIVE roles(role) AS (
            SELECT MIN(role) FROM tuf_files WHERE gun = @gun
            UNION ALL
            SELECT (SELECT MIN(t.role) FROM tuf_files AS t WHERE t.gun = @gun AND t.role > roles.role) FROM roles WHERE roles.role IS NOT NULL)
        """;

    /// <summary>Role and highest stored version of every role of the GUN <c>@gun</c> (two columns).</summary>
    public const string HighestVersionsSql = RolesOfGunSql + """

        SELECT roles.role, (SELECT MAX(m.version) FROM tuf_files AS m WHERE m.gun = @gun AND m.role = roles.role)
        FROM roles WHERE roles.role IS NOT NULL
        """;

    /// <summary>
    /// Every mapped column of the row with the highest version of every role of the GUN <c>@gun</c> (the query of
    /// <see cref="ReadLatestOfEachRoleAsync"/>). Portable form, for SQLite, whose planner probes the unique
    /// (gun, role, version) index once per role.
    /// </summary>
    protected virtual string LatestOfEachRoleSql => RolesOfGunSql + """

        SELECT f.id, f.created_at, f.gun, f.role, f.version, f.data, f.sha256 FROM roles JOIN tuf_files AS f ON f.gun = @gun AND f.role = roles.role
            AND f.version = (SELECT MAX(m.version) FROM tuf_files AS m WHERE m.gun = @gun AND m.role = roles.role)
        """;

    /// <summary>Role → highest stored version, for every role of <paramref name="gun"/> (in the current transaction, if any).</summary>
    public async Task<Dictionary<string, long>> ReadHighestVersionsAsync(string gun, CancellationToken cancellationToken)
    {
        await Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = Database.GetDbConnection().CreateCommand();
            command.CommandText = HighestVersionsSql;
            command.Transaction = Database.CurrentTransaction?.GetDbTransaction();
            command.Parameters.Add(GunParameter(gun));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await ReadHighestVersionsAsync(reader, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The (role, version) rows of <see cref="HighestVersionsSql"/> at the reader's current result.</summary>
    public static async Task<Dictionary<string, long>> ReadHighestVersionsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        var highest = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            highest.Add(reader.GetString(0), reader.GetInt64(1));
        }

        return highest;
    }

    /// <summary>The row with the highest version of every role of <paramref name="gun"/>, untracked.</summary>
    public Task<List<TufFileEntity>> ReadLatestOfEachRoleAsync(string gun, CancellationToken cancellationToken) =>
        TufFiles.FromSqlRaw(LatestOfEachRoleSql, GunParameter(gun)).AsNoTracking().ToListAsync(cancellationToken);

    // The provider's parameter for @gun.
    private DbParameter GunParameter(string gun) => Parameter("@gun", gun);

    private DbParameter Parameter(string name, object value)
    {
        var parameter = DbProviderFactories.GetFactory(Database.GetDbConnection())?.CreateParameter()
            ?? throw new InvalidOperationException("The database provider cannot create parameters.");
        parameter.ParameterName = name;
        parameter.Value = value;
        return parameter;
    }

    /// <summary>
    /// A keyset page of GUNs that hold a timestamp, in the column's order: the source <c>heads_guns(gun)</c> of
    /// <see cref="HeadsSql"/> (the query of <see cref="EfMetadataCatalog.ListGunsWithTimestampAsync"/>).
    /// </summary>
    private const string GunPageSql = """
        SELECT DISTINCT gun FROM tuf_files WHERE role = 'timestamp' AND gun > @after ORDER BY gun LIMIT @take
        """;

    private const string FirstGunPageSql = """
        SELECT DISTINCT gun FROM tuf_files WHERE role = 'timestamp' ORDER BY gun LIMIT @take
        """;

    /// <summary>The distinct GUNs of the parameter <c>@guns</c> (SQLite: a JSON array of strings).</summary>
    protected virtual string GunListSql => "SELECT DISTINCT value AS gun FROM json_each(@guns)";

    /// <summary>The value of <c>@guns</c> for <see cref="GunListSql"/>.</summary>
    protected virtual object GunListValue(IReadOnlyCollection<string> guns) => System.Text.Json.JsonSerializer.Serialize(guns);

    /// <summary>
    /// Every mapped column of the highest-version timestamp and the highest-version snapshot row of each GUN of
    /// <paramref name="gunsSql"/> (a query of one column <c>gun</c>), ordered by GUN: two probes of the unique
    /// (gun, role, version) index per GUN (SQLite: the covering index gives the row id, the rows are read by it).
    /// </summary>
    protected virtual string HeadsSql(string gunsSql) => $"""
        WITH heads_guns(gun) AS ({gunsSql})
        SELECT f.id, f.created_at, f.gun, f.role, f.version, f.data, f.sha256 FROM heads_guns JOIN tuf_files AS f ON f.id IN (
            (SELECT t.id FROM tuf_files AS t WHERE t.gun = heads_guns.gun AND t.role = 'timestamp' ORDER BY t.version DESC LIMIT 1),
            (SELECT s.id FROM tuf_files AS s WHERE s.gun = heads_guns.gun AND s.role = 'snapshot' ORDER BY s.version DESC LIMIT 1))
        ORDER BY f.gun
        """;

    /// <summary>
    /// The newest timestamp and snapshot rows of up to <paramref name="take"/> GUNs that hold a timestamp, after
    /// <paramref name="after"/> (from the first when null), in one query; ordered by GUN as the keyset pages are.
    /// </summary>
    public Task<List<TufFileEntity>> ReadHeadsPageAsync(string? after, int take, CancellationToken cancellationToken) =>
        after is null
            ? TufFiles.FromSqlRaw(HeadsPageSql(first: true), Parameter("@take", take)).AsNoTracking().ToListAsync(cancellationToken)
            : TufFiles.FromSqlRaw(HeadsPageSql(first: false), Parameter("@after", after), Parameter("@take", take)).AsNoTracking().ToListAsync(cancellationToken);

    /// <summary>The query of <see cref="ReadHeadsPageAsync"/>: parameters <c>@take</c> and, unless <paramref name="first"/>, <c>@after</c>.</summary>
    public string HeadsPageSql(bool first) => HeadsSql(first ? FirstGunPageSql : GunPageSql);

    /// <summary>The newest timestamp and snapshot rows of each of <paramref name="guns"/>, in one query; ordered by GUN.</summary>
    public Task<List<TufFileEntity>> ReadHeadsAsync(IReadOnlyCollection<string> guns, CancellationToken cancellationToken) =>
        TufFiles.FromSqlRaw(HeadsSql(GunListSql), Parameter("@guns", GunListValue(guns))).AsNoTracking().ToListAsync(cancellationToken);

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);

        modelBuilder.Entity<TufFileEntity>(file =>
        {
            file.ToTable("tuf_files");
            file.HasKey(f => f.Id).HasName("pk_tuf_files");
            file.Property(f => f.Id).HasColumnName("id").ValueGeneratedOnAdd();
            file.Property(f => f.CreatedAt).HasColumnName("created_at");
            file.Property(f => f.Gun).HasColumnName("gun").HasMaxLength(NameMaxLength);
            file.Property(f => f.Role).HasColumnName("role").HasMaxLength(NameMaxLength);
            file.Property(f => f.Version).HasColumnName("version");
            file.Property(f => f.Data).HasColumnName("data");
            file.Property(f => f.Sha256).HasColumnName("sha256").HasMaxLength(64);

            // Serves "by version" (equality on all three) and "current"/"highest" (equality on gun, role and a
            // backward scan of version), and is the last line of defence against two writers storing one version.
            file.HasIndex(f => new { f.Gun, f.Role, f.Version }).IsUnique().HasDatabaseName("ux_tuf_files_gun_role_version");

            // Serves "by checksum" (spec server-api.md §5.1: filtered by gun, role and sha256 as SQL notary does).
            file.HasIndex(f => new { f.Gun, f.Role, f.Sha256 }).HasDatabaseName("ix_tuf_files_gun_role_sha256");
        });

        modelBuilder.Entity<ChangeEntity>(change =>
        {
            change.ToTable("changefeed");
            change.HasKey(c => c.Id).HasName("pk_changefeed");
            change.Property(c => c.Id).HasColumnName("id").ValueGeneratedOnAdd();
            change.Property(c => c.CreatedAt).HasColumnName("created_at");
            change.Property(c => c.Gun).HasColumnName("gun").HasMaxLength(NameMaxLength);
            change.Property(c => c.Version).HasColumnName("version");

            // varchar, not Notary's char(64): a deletion's empty SHA-256 must come back empty (server-api.md §10).
            change.Property(c => c.Sha256).HasColumnName("sha256").HasMaxLength(64);
            change.Property(c => c.Category).HasColumnName("category").HasMaxLength(20);

            // The primary key orders the whole feed; (gun, id) serves the per-GUN feed in id order in both
            // directions (a plain index on gun would need a sort of all the GUN's records).
            change.HasIndex(c => new { c.Gun, c.Id }).HasDatabaseName("ix_changefeed_gun_id");
        });

        modelBuilder.Entity<AuditEntity>(audit =>
        {
            audit.ToTable("audit_log");
            audit.HasKey(a => a.Id).HasName("pk_audit_log");
            audit.Property(a => a.Id).HasColumnName("id").ValueGeneratedOnAdd();
            audit.Property(a => a.CreatedAt).HasColumnName("created_at");
            audit.Property(a => a.Action).HasColumnName("action").HasMaxLength(32);
            audit.Property(a => a.Outcome).HasColumnName("outcome").HasMaxLength(16);
            audit.Property(a => a.Principal).HasColumnName("principal").HasMaxLength(AuditActor.MaxFieldLength);
            audit.Property(a => a.RemoteAddress).HasColumnName("remote_address").HasMaxLength(AuditActor.MaxFieldLength);
            audit.Property(a => a.RequestId).HasColumnName("request_id").HasMaxLength(AuditActor.MaxFieldLength);
            audit.Property(a => a.Gun).HasColumnName("gun").HasMaxLength(NameMaxLength);

            // Unbounded: an update may carry many delegations.
            audit.Property(a => a.Files).HasColumnName("files");
            audit.Property(a => a.Detail).HasColumnName("detail").HasMaxLength(AuditEntry.MaxDetailLength);

            // The admin API pages newest first by id, filtered by GUN or principal; retention and time filters use created_at.
            audit.HasIndex(a => new { a.Gun, a.Id }).HasDatabaseName("ix_audit_log_gun_id");
            audit.HasIndex(a => new { a.Principal, a.Id }).HasDatabaseName("ix_audit_log_principal_id");
            audit.HasIndex(a => a.CreatedAt).HasDatabaseName("ix_audit_log_created_at");
        });

        modelBuilder.Entity<WebhookOutboxEntity>(outbox =>
        {
            outbox.ToTable("webhook_outbox");
            outbox.HasKey(o => o.Id).HasName("pk_webhook_outbox");
            outbox.Property(o => o.Id).HasColumnName("id").ValueGeneratedOnAdd();
            outbox.Property(o => o.CreatedAt).HasColumnName("created_at");
            outbox.Property(o => o.EventId).HasColumnName("event_id").HasMaxLength(64);
            outbox.Property(o => o.EventType).HasColumnName("event_type").HasMaxLength(32);
            outbox.Property(o => o.Gun).HasColumnName("gun").HasMaxLength(NameMaxLength);
            outbox.Property(o => o.EndpointUrl).HasColumnName("endpoint_url").HasMaxLength(WebhookEndpointUrlMaxLength);
            outbox.Property(o => o.Payload).HasColumnName("payload");
            outbox.Property(o => o.Status).HasColumnName("status").HasMaxLength(16);
            outbox.Property(o => o.Attempts).HasColumnName("attempts");
            outbox.Property(o => o.NextAttemptAt).HasColumnName("next_attempt_at");
            outbox.Property(o => o.CompletedAt).HasColumnName("completed_at");
            outbox.Property(o => o.LastStatusCode).HasColumnName("last_status_code");
            outbox.Property(o => o.LastError).HasColumnName("last_error").HasMaxLength(WebhookErrorMaxLength);

            // Due pending events by status and time; the per-(endpoint, GUN) head by (status, endpoint, gun, id);
            // retention by (status, completed_at); the admin API newest first by id, filtered by GUN.
            outbox.HasIndex(o => new { o.Status, o.NextAttemptAt }).HasDatabaseName("ix_webhook_outbox_status_next_attempt_at");
            outbox.HasIndex(o => new { o.Status, o.EndpointUrl, o.Gun, o.Id }).HasDatabaseName("ix_webhook_outbox_status_endpoint_gun_id");
            outbox.HasIndex(o => new { o.Status, o.CompletedAt }).HasDatabaseName("ix_webhook_outbox_status_completed_at");
            outbox.HasIndex(o => new { o.Gun, o.Id }).HasDatabaseName("ix_webhook_outbox_gun_id");
        });

        modelBuilder.Entity<WebhookAttemptEntity>(attempt =>
        {
            attempt.ToTable("webhook_attempts");
            attempt.HasKey(a => a.Id).HasName("pk_webhook_attempts");
            attempt.Property(a => a.Id).HasColumnName("id").ValueGeneratedOnAdd();
            attempt.Property(a => a.OutboxId).HasColumnName("outbox_id");
            attempt.Property(a => a.AttemptedAt).HasColumnName("attempted_at");
            attempt.Property(a => a.DurationMs).HasColumnName("duration_ms");
            attempt.Property(a => a.StatusCode).HasColumnName("status_code");
            attempt.Property(a => a.Error).HasColumnName("error").HasMaxLength(WebhookErrorMaxLength);
            attempt.Property(a => a.NextAttemptAt).HasColumnName("next_attempt_at");
            attempt.HasIndex(a => new { a.OutboxId, a.Id }).HasDatabaseName("ix_webhook_attempts_outbox_id_id");
        });

        modelBuilder.Entity<WebhookExpiryNoticeEntity>(notice =>
        {
            notice.ToTable("webhook_expiry_notices");
            notice.HasKey(n => new { n.Gun, n.Role, n.Expires, n.Within }).HasName("pk_webhook_expiry_notices");
            notice.Property(n => n.Gun).HasColumnName("gun").HasMaxLength(NameMaxLength);
            notice.Property(n => n.Role).HasColumnName("role").HasMaxLength(NameMaxLength);
            notice.Property(n => n.Expires).HasColumnName("expires");
            notice.Property(n => n.Within).HasColumnName("within").HasMaxLength(16);
            notice.Property(n => n.CreatedAt).HasColumnName("created_at");
            notice.HasIndex(n => n.Expires).HasDatabaseName("ix_webhook_expiry_notices_expires");
        });
    }
}
