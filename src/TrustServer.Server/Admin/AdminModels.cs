namespace TrustServer.Server.Admin;

/// <summary>A page of results.</summary>
/// <param name="Items">The results on this page.</param>
/// <param name="Page">1-based page number.</param>
/// <param name="PageSize">Results per page.</param>
/// <param name="Total">Results on all pages.</param>
public sealed record PagedResponse<T>(IReadOnlyList<T> Items, int Page, int PageSize, long Total);

/// <summary>A repository in the list.</summary>
/// <param name="Gun">Globally unique name.</param>
/// <param name="LastUpdated">When a file was last stored (UTC).</param>
/// <param name="FileCount">Stored files, all roles and versions.</param>
public sealed record RepositoryListItem(string Gun, DateTimeOffset LastUpdated, long FileCount);

/// <summary>One repository with its current roles.</summary>
/// <param name="Gun">Globally unique name.</param>
/// <param name="Roles">Current file of each role, as reached from the current timestamp.</param>
/// <param name="ServerManagedSnapshot">Whether the signer holds a snapshot key of the current root (null when the signer could not be asked).</param>
public sealed record RepositoryDetail(string Gun, IReadOnlyList<RoleDetail> Roles, bool? ServerManagedSnapshot);

/// <summary>The current file of a role.</summary>
/// <param name="Role">Role name.</param>
/// <param name="Version">Current version.</param>
/// <param name="Expires">Expiry as written in the file (UTC instant).</param>
/// <param name="Sha256">Lowercase hex SHA-256 of the file.</param>
/// <param name="Length">File size in bytes.</param>
/// <param name="StoredAt">When it was stored (UTC).</param>
/// <param name="Keys">Keys this file declares: for root, the keys of every role; for targets roles, delegation keys.</param>
public sealed record RoleDetail(string Role, long Version, DateTimeOffset Expires, string Sha256, long Length, DateTimeOffset StoredAt, IReadOnlyList<KeyDetail> Keys);

/// <summary>A key declared in metadata.</summary>
/// <param name="Id">TUF key ID.</param>
/// <param name="Type">Key type (ecdsa, ecdsa-x509, rsa, rsa-x509, ed25519).</param>
/// <param name="Roles">Roles (or delegations) the key is listed for.</param>
public sealed record KeyDetail(string Id, string Type, IReadOnlyList<string> Roles);

/// <summary>A stored version of a role.</summary>
/// <param name="Version">Version.</param>
/// <param name="Sha256">Lowercase hex SHA-256.</param>
/// <param name="Length">Size in bytes.</param>
/// <param name="StoredAt">When it was stored (UTC).</param>
public sealed record VersionItem(long Version, string Sha256, long Length, DateTimeOffset StoredAt);

/// <summary>A current file that expires soon (or has expired).</summary>
/// <param name="Gun">Repository.</param>
/// <param name="Role">Role.</param>
/// <param name="Version">Current version.</param>
/// <param name="Expires">Expiry (UTC).</param>
/// <param name="Expired">Whether it has already expired.</param>
/// <param name="RenewedBy">server: the server re-signs it ahead of expiry (timestamp, and snapshot when the server holds a snapshot key of the current root); owner: only the repository's owner can renew it (root, targets, delegations, a snapshot or timestamp whose key the server does not hold).</param>
/// <param name="Keys">Key IDs of the role, from the current root (base roles) or the parent's delegation (delegations): signatures of Threshold of them renew it. Empty when the declaring file cannot be read.</param>
/// <param name="Threshold">How many of Keys must sign; null when the declaring file cannot be read.</param>
/// <param name="Command">For owner roles, the notary 0.7.0 client command that renews it, run against this server (-s) with the trust directory holding the keys; null for server roles.</param>
public sealed record ExpiringItem(
    string Gun, string Role, long Version, DateTimeOffset Expires, bool Expired, string RenewedBy, IReadOnlyList<string> Keys, long? Threshold, string? Command);

/// <summary>An audit log entry: a change of state, or a refused or failed attempt.</summary>
/// <param name="Id">Position in the log (grows with every entry).</param>
/// <param name="Time">When it was written (UTC; for a change, the time of its commit).</param>
/// <param name="Action">publish, delete, key-create, key-rotate, resign, retention or import.</param>
/// <param name="Outcome">succeeded, rejected (validation refused it), conflict (a newer version was stored first) or failed.</param>
/// <param name="Principal">The token subject; anonymous without token auth; system:&lt;component&gt; for the server's own work.</param>
/// <param name="RemoteAddress">The client's IP address (null for background work).</param>
/// <param name="Gun">The repository.</param>
/// <param name="Files">Roles and versions, role@version comma-separated (the role alone for key events).</param>
/// <param name="RequestId">The request's id, as in the request log's RequestId (null for background work).</param>
/// <param name="Detail">Why it was refused or failed, the key id of a key event, or other context.</param>
public sealed record AuditItem(
    long Id, DateTimeOffset Time, string Action, string Outcome, string Principal, string? RemoteAddress, string Gun, string Files, string? RequestId, string? Detail);

/// <summary>What retention would remove from a repository now (a dry run of the configured <c>Retention</c> rules).</summary>
/// <param name="Gun">The repository.</param>
/// <param name="Enabled">Whether any retention rule is configured (when false nothing is ever removed).</param>
/// <param name="Count">How many versions would be removed.</param>
/// <param name="Bytes">Their total size in bytes.</param>
/// <param name="Versions">The versions, oldest first.</param>
public sealed record RetentionPreview(string Gun, bool Enabled, int Count, long Bytes, IReadOnlyList<RetentionPreviewItem> Versions);

/// <summary>A stored version retention would remove.</summary>
/// <param name="Role">Role.</param>
/// <param name="Version">Version.</param>
/// <param name="StoredAt">When it was stored (UTC).</param>
/// <param name="Length">Size in bytes.</param>
public sealed record RetentionPreviewItem(string Role, long Version, DateTimeOffset StoredAt, long Length);
