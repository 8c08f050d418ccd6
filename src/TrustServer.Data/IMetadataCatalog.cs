namespace TrustServer.Data;

/// <summary>A repository as the admin API lists it: its GUN, when it last changed and how many files it holds.</summary>
public sealed record RepositorySummary(string Gun, DateTimeOffset LastUpdated, long FileCount);

/// <summary>One stored version of a role, without its bytes.</summary>
public sealed record RoleVersion(string Role, long Version, string Sha256, long Length, DateTimeOffset CreatedAt);

/// <summary>
/// A repository's newest timestamp and newest snapshot as stored (the snapshot is null when none is stored). The
/// current chain is that timestamp and the snapshot it names, which is nearly always the newest one: a reader checks.
/// </summary>
public sealed record RepositoryHead(string Gun, StoredFile Timestamp, StoredFile? Snapshot);

/// <summary>A page of results and the total count.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, long Total);

/// <summary>Read-only queries across repositories for administrators (not part of the Notary protocol).</summary>
public interface IMetadataCatalog
{
    /// <summary>Repositories whose GUN starts with <paramref name="prefix"/> (all when null), most recently updated first.</summary>
    Task<Page<RepositorySummary>> ListRepositoriesAsync(string? prefix, int skip, int take, CancellationToken cancellationToken = default);

    /// <summary>The stored versions of a role of a repository, newest first.</summary>
    Task<Page<RoleVersion>> GetRoleHistoryAsync(string gun, string role, int skip, int take, CancellationToken cancellationToken = default);

    /// <summary>The roles stored for a repository (empty when the repository is unknown).</summary>
    Task<IReadOnlyList<string>> GetRolesAsync(string gun, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="take"/> GUNs that hold a timestamp, in ordinal order, after <paramref name="after"/>
    /// (from the first when null): keyset pages for walking every repository.
    /// </summary>
    Task<IReadOnlyList<string>> ListGunsWithTimestampAsync(string? after, int take, CancellationToken cancellationToken = default);

    /// <summary>
    /// The <see cref="RepositoryHead"/> of up to <paramref name="take"/> repositories that hold a timestamp, in the
    /// order and pages of <see cref="ListGunsWithTimestampAsync"/>, in one query per page.
    /// </summary>
    Task<IReadOnlyList<RepositoryHead>> ListRepositoryHeadsAsync(string? after, int take, CancellationToken cancellationToken = default);

    /// <summary>
    /// The <see cref="RepositoryHead"/> of each of <paramref name="guns"/> that holds a timestamp (one that holds none,
    /// or is unknown, is left out), in one query.
    /// </summary>
    Task<IReadOnlyList<RepositoryHead>> GetRepositoryHeadsAsync(IReadOnlyCollection<string> guns, CancellationToken cancellationToken = default);
}
