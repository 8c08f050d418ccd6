using TrustServer.Tuf.Validation;

namespace TrustServer.Data;

/// <summary>One stored metadata file (a row of <c>tuf_files</c>): exact bytes, lowercase hex SHA-256, creation time (UTC).</summary>
public sealed record StoredFile(string Role, long Version, byte[] Data, string Sha256, DateTimeOffset CreatedAt);

/// <summary>
/// The stored timestamp an update was validated against: its version (null = no timestamp stored) and, when the
/// caller knows it, its SHA-256 (lowercase hex). With the checksum, a repository deleted and re-created up to the
/// same timestamp version meanwhile is told apart from the one the caller saw.
/// </summary>
public readonly record struct ExpectedTimestamp(long? Version, string? Sha256 = null);

/// <summary>One changefeed record (spec server-api.md §10). <c>Category</c> is <c>update</c> or <c>deletion</c>.</summary>
public sealed record ChangeRecord(long Id, DateTimeOffset CreatedAt, string Gun, long Version, string Sha256, string Category);

/// <summary>Outcome of <see cref="IMetadataStore.CommitAsync(string, ExpectedTimestamp, IReadOnlyList{MetadataFile}, AuditContext, CancellationToken)"/>.</summary>
public enum CommitOutcome
{
    /// <summary>Every file and the changefeed record were written in one transaction.</summary>
    Committed,

    /// <summary>
    /// Nothing was written: a file's version is not greater than every stored version of its role, two files share
    /// a (role, version), or the repository changed since the caller read it (another request or replica won).
    /// Maps to Notary's 400 <c>VERSION</c>.
    /// </summary>
    VersionConflict,
}

/// <summary>The three file lookups of the read path; implemented by the store and by read caches in front of it.</summary>
public interface IMetadataReader
{
    /// <summary>The stored file of the role with the highest version, or null.</summary>
    Task<StoredFile?> GetLatestAsync(string gun, string role, CancellationToken cancellationToken = default);

    /// <summary>The stored file of the role with exactly this version, or null.</summary>
    Task<StoredFile?> GetByVersionAsync(string gun, string role, long version, CancellationToken cancellationToken = default);

    /// <summary>The stored file of the role whose SHA-256 (lowercase hex, compared as given) is <paramref name="sha256"/>, or null.</summary>
    Task<StoredFile?> GetByChecksumAsync(string gun, string role, string sha256, CancellationToken cancellationToken = default);
}

/// <summary>
/// Storage of TUF metadata per repository (GUN) and of the changefeed (spec validation.md §10). Rows are never
/// updated; all versions stay readable until the repository is deleted. Every implementation is safe for
/// several server replicas on one database: correctness comes from transactions and unique constraints.
/// Every write that changes a repository also writes a changefeed record, which is what read caches of other
/// replicas follow (see <see cref="IChangeSignal"/>).
/// </summary>
public interface IMetadataStore : IMetadataReader
{

    /// <summary>Role → highest stored version, for every role of the repository (empty when nothing is stored).</summary>
    Task<IReadOnlyDictionary<string, long>> GetHighestVersionsAsync(string gun, CancellationToken cancellationToken = default);

    /// <summary>
    /// Role → the stored file with the highest version, for every role of the repository, read in one query (one
    /// consistent view; empty when nothing is stored). The versions are those of <see cref="GetHighestVersionsAsync"/>.
    /// </summary>
    Task<IReadOnlyDictionary<string, StoredFile>> GetLatestOfEachRoleAsync(string gun, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes all <paramref name="files"/> of one update (or of one lazy re-sign) in one transaction, plus one
    /// changefeed <c>update</c> record per timestamp file. Optimistic concurrency: the write happens only if the
    /// repository's highest stored timestamp version is still <paramref name="expectedTimestampVersion"/> (null =
    /// no timestamp stored), and every file's version is greater than all stored versions of its role; otherwise
    /// nothing is written and <see cref="CommitOutcome.VersionConflict"/> is returned. Other failures throw and
    /// also leave nothing behind. The same transaction appends one <c>audit_log</c> entry (outcome
    /// <see cref="AuditOutcomes.Succeeded"/>, the <paramref name="audit"/> action and actor, every file's
    /// <c>role@version</c>), which is also written to the structured log after the commit.
    /// </summary>
    Task<CommitOutcome> CommitAsync(
        string gun, long? expectedTimestampVersion, IReadOnlyList<MetadataFile> files, AuditContext audit, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="CommitAsync(string, long?, IReadOnlyList{MetadataFile}, AuditContext, CancellationToken)"/>, where
    /// the highest stored timestamp must also have <paramref name="expected"/>'s SHA-256 when it gives one.
    /// </summary>
    Task<CommitOutcome> CommitAsync(
        string gun, ExpectedTimestamp expected, IReadOnlyList<MetadataFile> files, AuditContext audit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every file of the repository and, when at least one was deleted, appends a <c>deletion</c>
    /// changefeed record (version 0, empty SHA-256) and an <c>audit_log</c> entry for <paramref name="audit"/>, in one
    /// transaction. Returns whether anything was deleted.
    /// </summary>
    Task<bool> DeleteAsync(string gun, AuditContext audit, CancellationToken cancellationToken = default);

    /// <summary>
    /// A page of the changefeed (spec server-api.md §10), always in ascending id order. <paramref name="gun"/>
    /// null = all repositories. <paramref name="records"/> &gt; 0 and <paramref name="changeId"/> ≥ 0: records with
    /// id &gt; changeId, ascending, at most <paramref name="records"/>. <paramref name="records"/> &lt; 0 or
    /// <paramref name="changeId"/> &lt; 0: the |records| records with the largest ids below changeId (below
    /// nothing when changeId ≤ 0). The caller maps records = 0 to 100.
    /// </summary>
    Task<IReadOnlyList<ChangeRecord>> GetChangesAsync(string? gun, long changeId, int records, CancellationToken cancellationToken = default);

    /// <summary>Whether the database answers and holds the schema (the "DB operational" health check).</summary>
    Task<bool> IsOperationalAsync(CancellationToken cancellationToken = default);
}
