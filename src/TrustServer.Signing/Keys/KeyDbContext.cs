using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace TrustServer.Signing.Keys;

/// <summary>
/// The key database: notary-signer's <c>private_keys</c> table (spec signer.md §5), with one subclass per provider so
/// that each has its own migrations. Migration history lives in <see cref="MigrationsHistoryTable"/> so the metadata
/// context can share the database.
/// </summary>
internal abstract class KeyDbContext : DbContext
{
    /// <summary>The migrations history table of this context (not EF's default, which the metadata context uses).</summary>
    public const string MigrationsHistoryTable = "__keys_migrations";

    // Stored as UTC wall-clock time; PostgreSQL `timestamp` (no zone) needs Kind=Unspecified on write.
    private static readonly ValueConverter<DateTime, DateTime> UtcConverter = new(
        v => DateTime.SpecifyKind(v.Kind == DateTimeKind.Local ? v.ToUniversalTime() : v, DateTimeKind.Unspecified),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    protected KeyDbContext(DbContextOptions options)
        : base(options)
    {
    }

    /// <summary>
    /// The undeleted rows of <c>private_keys</c> (a deleted key is never read, signed with or handed out). An explicit
    /// filter rather than a model query filter: the compiled model (<c>Keys/CompiledModels</c>) cannot hold query filters.
    /// </summary>
    public IQueryable<PrivateKeyRow> PrivateKeys => AllPrivateKeys.Where(r => r.DeletedAt == null);

    /// <summary>Every row of <c>private_keys</c>, deleted ones included: for adding rows and for the importer.</summary>
    public DbSet<PrivateKeyRow> AllPrivateKeys => Set<PrivateKeyRow>();

    /// <summary>The undeleted keys inside a PKCS#11 token (ours; <c>Keys:Backend = Pkcs11</c>).</summary>
    public IQueryable<HsmKeyRow> HsmKeys => AllHsmKeys.Where(r => r.DeletedAt == null);

    /// <summary>Every row of <c>hsm_keys</c>, deleted ones included: for adding rows.</summary>
    public DbSet<HsmKeyRow> AllHsmKeys => Set<HsmKeyRow>();

    /// <summary>
    /// Serializes concurrent get-or-create calls for one (gun, role, algorithm) inside the current transaction,
    /// across processes sharing the database, so they return the same pending key.
    /// </summary>
    public abstract Task LockCreateAsync(string gun, string role, string algorithm, CancellationToken cancellationToken);

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var key = modelBuilder.Entity<PrivateKeyRow>();
        key.ToTable("private_keys");
        key.HasKey(r => r.Id).HasName("private_keys_pkey");
        key.Property(r => r.Id).HasColumnName("id");
        key.Property(r => r.CreatedAt).HasColumnName("created_at").HasConversion(UtcConverter);
        key.Property(r => r.UpdatedAt).HasColumnName("updated_at").HasConversion(UtcConverter);
        key.Property(r => r.DeletedAt).HasColumnName("deleted_at").HasConversion(UtcConverter);
        key.Property(r => r.KeyId).HasColumnName("key_id").HasMaxLength(255);
        key.Property(r => r.EncryptionAlg).HasColumnName("encryption_alg").HasMaxLength(255);
        key.Property(r => r.KeywrapAlg).HasColumnName("keywrap_alg").HasMaxLength(255);
        key.Property(r => r.Algorithm).HasColumnName("algorithm").HasMaxLength(50);
        key.Property(r => r.PassphraseAlias).HasColumnName("passphrase_alias").HasMaxLength(50);
        key.Property(r => r.Public).HasColumnName("public");
        key.Property(r => r.Private).HasColumnName("private");
        key.Property(r => r.Gun).HasColumnName("gun").HasMaxLength(255);
        key.Property(r => r.Role).HasColumnName("role").HasMaxLength(255);
        key.Property(r => r.LastUsed).HasColumnName("last_used").HasConversion(UtcConverter);

        // notary-signer's two unique constraints (key_id, and key_id with algorithm).
        key.HasIndex(r => r.KeyId).IsUnique().HasDatabaseName("key_id");
        key.HasIndex(r => new { r.KeyId, r.Algorithm }).IsUnique().HasDatabaseName("key_id_2");

        // Ours: the get-or-create lookup of CreateKey (signer.md §6).
        key.HasIndex(r => new { r.Gun, r.Role, r.Algorithm }).HasDatabaseName("private_keys_gun_role_algorithm_idx");

        var hsm = modelBuilder.Entity<HsmKeyRow>();
        hsm.ToTable("hsm_keys");
        hsm.HasKey(r => r.Id).HasName("hsm_keys_pkey");
        hsm.Property(r => r.Id).HasColumnName("id");
        hsm.Property(r => r.CreatedAt).HasColumnName("created_at").HasConversion(UtcConverter);
        hsm.Property(r => r.UpdatedAt).HasColumnName("updated_at").HasConversion(UtcConverter);
        hsm.Property(r => r.DeletedAt).HasColumnName("deleted_at").HasConversion(UtcConverter);
        hsm.Property(r => r.KeyId).HasColumnName("key_id").HasMaxLength(255);
        hsm.Property(r => r.Algorithm).HasColumnName("algorithm").HasMaxLength(50);
        hsm.Property(r => r.Public).HasColumnName("public");
        hsm.Property(r => r.Gun).HasColumnName("gun").HasMaxLength(255);
        hsm.Property(r => r.Role).HasColumnName("role").HasMaxLength(255);
        hsm.Property(r => r.LastUsed).HasColumnName("last_used").HasConversion(UtcConverter);
        hsm.Property(r => r.ObjectId).HasColumnName("pkcs11_id");
        hsm.Property(r => r.ObjectLabel).HasColumnName("pkcs11_label").HasMaxLength(255);
        hsm.Property(r => r.TokenLabel).HasColumnName("token_label").HasMaxLength(255);
        hsm.HasIndex(r => r.KeyId).IsUnique().HasDatabaseName("hsm_keys_key_id_idx");
        hsm.HasIndex(r => new { r.Gun, r.Role, r.Algorithm }).HasDatabaseName("hsm_keys_gun_role_algorithm_idx");
    }

    /// <summary>A stable 64-bit lock key for a (gun, role, algorithm) triple.</summary>
    protected static long LockKey(string gun, string role, string algorithm)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"trustserver.keys.create\0{gun}\0{role}\0{algorithm}"));
        return BinaryPrimitives.ReadInt64BigEndian(hash);
    }
}

/// <summary>The key database on PostgreSQL, column types as in notary-signer's PostgreSQL migration.</summary>
internal sealed class PostgresKeyDbContext(DbContextOptions<PostgresKeyDbContext> options) : KeyDbContext(options)
{
    /// <summary>
    /// Configures <paramref name="builder"/> for this context on <paramref name="connectionString"/>, with the compiled
    /// model (<c>Keys/CompiledModels/Postgres</c>) unless <paramref name="compiledModel"/> is false (design time).
    /// </summary>
    public static void Configure(DbContextOptionsBuilder builder, string connectionString, bool compiledModel = true)
    {
        builder.UseNpgsql(connectionString, npgsql => npgsql.MigrationsHistoryTable(MigrationsHistoryTable));
        if (compiledModel)
        {
            builder.UseModel(CompiledModels.Postgres.PostgresKeyDbContextModel.Instance);
        }
    }

    public override async Task LockCreateAsync(string gun, string role, string algorithm, CancellationToken cancellationToken)
    {
        var lockKey = LockKey(gun, role, algorithm);
        await Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({lockKey})", cancellationToken).ConfigureAwait(false);
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        var key = modelBuilder.Entity<PrivateKeyRow>();
        key.Property(r => r.Id).UseSerialColumn();
        key.Property(r => r.CreatedAt).HasColumnType("timestamp without time zone");
        key.Property(r => r.UpdatedAt).HasColumnType("timestamp without time zone");
        key.Property(r => r.DeletedAt).HasColumnType("timestamp without time zone");
        key.Property(r => r.LastUsed).HasColumnType("timestamp without time zone");
        key.Property(r => r.Public).HasColumnType("bytea");
        key.Property(r => r.Private).HasColumnType("bytea");

        var hsm = modelBuilder.Entity<HsmKeyRow>();
        hsm.Property(r => r.CreatedAt).HasColumnType("timestamp without time zone");
        hsm.Property(r => r.UpdatedAt).HasColumnType("timestamp without time zone");
        hsm.Property(r => r.DeletedAt).HasColumnType("timestamp without time zone");
        hsm.Property(r => r.LastUsed).HasColumnType("timestamp without time zone");
    }
}

/// <summary>The key database on SQLite (embedded default).</summary>
internal sealed class SqliteKeyDbContext(DbContextOptions<SqliteKeyDbContext> options) : KeyDbContext(options)
{
    /// <summary>
    /// Configures <paramref name="builder"/> for this context on <paramref name="connectionString"/>, with the compiled
    /// model (<c>Keys/CompiledModels/Sqlite</c>) unless <paramref name="compiledModel"/> is false (design time).
    /// </summary>
    public static void Configure(DbContextOptionsBuilder builder, string connectionString, bool compiledModel = true)
    {
        builder.UseSqlite(connectionString, sqlite => sqlite.MigrationsHistoryTable(MigrationsHistoryTable));
        if (compiledModel)
        {
            builder.UseModel(CompiledModels.Sqlite.SqliteKeyDbContextModel.Instance);
        }
    }

    /// <summary>
    /// Nothing to do: Microsoft.Data.Sqlite starts transactions with <c>BEGIN IMMEDIATE</c>, which already
    /// serializes writers on the database file.
    /// </summary>
    public override Task LockCreateAsync(string gun, string role, string algorithm, CancellationToken cancellationToken) => Task.CompletedTask;
}
