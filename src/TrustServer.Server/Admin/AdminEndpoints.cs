using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Auth;
using TrustServer.Server.Notary;
using TrustServer.Server.Retention;
using TrustServer.Signing;
using TrustServer.Tuf;
using TrustServer.Tuf.Metadata;
using static TrustServer.Server.Admin.ApiProblems;

namespace TrustServer.Server.Admin;

/// <summary>
/// The admin API (<c>/api/admin/v1</c>): repositories, their current roles and keys, role history, what expires
/// soon, and the audit log. Read-only; errors are RFC 7807 problem details (<see cref="ApiProblems"/>). GUNs and roles contain slashes, so they are query parameters.
/// </summary>
internal static class AdminEndpoints
{
    private const int MaxPageSize = 500;
    private const int MaxGunLength = 255;

    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder endpoints)
    {
        // With token auth the admin API needs the catalog scope (registry:catalog:*), like the global changefeed; so do
        // unknown /api paths, as unknown Notary URLs do.
        var group = endpoints.MapGroup("/api/admin/v1").WithTags("Admin")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status500InternalServerError);
        var fallback = endpoints.MapApiFallback();
        if (endpoints.ServiceProvider.GetService<NotaryAuthorization>() is { } authorization)
        {
            group.AddEndpointFilter(new CatalogAccessFilter(authorization));
            fallback.AddEndpointFilter(new CatalogAccessFilter(authorization));
        }

        group.MapGet("/repositories", ListRepositoriesAsync)
            .WithName("ListRepositories").WithSummary("Repositories, most recently updated first, optionally filtered by GUN prefix.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/repository", GetRepositoryAsync)
            .WithName("GetRepository").WithSummary("One repository: current version, expiry, checksum and keys of every role.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/repository/history", GetHistoryAsync)
            .WithName("GetRoleHistory").WithSummary("Every stored version of one role of a repository, newest first.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/expiring", GetExpiringAsync)
            .WithName("GetExpiring").WithSummary("Current root, targets, delegation, snapshot and timestamp files that expire within the given number of days: who renews each (the server, or the owner with which keys and command), optionally only renewedBy=server or owner.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/audit", GetAuditAsync)
            .WithName("GetAuditLog").WithSummary("Audit log entries (changes of state and refused attempts), newest first, filtered by GUN, principal, action and time range [from, to).")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/retention", GetRetentionPreviewAsync)
            .WithName("GetRetentionPreview").WithSummary("Dry run of retention for one repository: the versions the configured Retention rules would remove now.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapWebhookAdminEndpoints();
        return endpoints;
    }

    private static async Task<Results<Ok<PagedResponse<RepositoryListItem>>, ProblemHttpResult>> ListRepositoriesAsync(
        IMetadataCatalog catalog, CancellationToken cancellationToken, string? prefix = null, int page = 1, int pageSize = 50)
    {
        if (PagingProblem(page, pageSize) is { } problem)
        {
            return problem;
        }

        var result = await catalog.ListRepositoriesAsync(prefix, (page - 1) * pageSize, pageSize, cancellationToken);
        return TypedResults.Ok(new PagedResponse<RepositoryListItem>(
            [.. result.Items.Select(r => new RepositoryListItem(r.Gun, r.LastUpdated, r.FileCount))], page, pageSize, result.Total));
    }

    private static async Task<Results<Ok<RepositoryDetail>, ProblemHttpResult>> GetRepositoryAsync(
        CurrentChainReader repositories, ISigningService signer, CancellationToken cancellationToken, string? gun = null)
    {
        if (string.IsNullOrEmpty(gun))
        {
            return Problem(StatusCodes.Status400BadRequest, "Missing parameter", "The query parameter 'gun' is required.");
        }

        var current = await repositories.GetCurrentFilesAsync(gun, cancellationToken);
        if (current.Count == 0)
        {
            return Problem(StatusCodes.Status404NotFound, "Unknown repository", $"No metadata is stored for '{gun}'.");
        }

        var roles = current.OrderBy(f => RoleOrder(f.Key)).ThenBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => Describe(f.Key, f.Value)).ToList();
        return TypedResults.Ok(new RepositoryDetail(gun, roles, await ServerManagesSnapshotAsync(current, signer, cancellationToken)));
    }

    private static async Task<Results<Ok<PagedResponse<VersionItem>>, ProblemHttpResult>> GetHistoryAsync(
        IMetadataCatalog catalog, CancellationToken cancellationToken, string? gun = null, string? role = null, int page = 1, int pageSize = 50)
    {
        if (string.IsNullOrEmpty(gun) || string.IsNullOrEmpty(role))
        {
            return Problem(StatusCodes.Status400BadRequest, "Missing parameter", "The query parameters 'gun' and 'role' are required.");
        }

        if (!RoleName.IsValid(role))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid role", $"'{role}' is not a valid role name.");
        }

        if (PagingProblem(page, pageSize) is { } problem)
        {
            return problem;
        }

        var result = await catalog.GetRoleHistoryAsync(gun, role, (page - 1) * pageSize, pageSize, cancellationToken);
        if (result.Total == 0)
        {
            return Problem(StatusCodes.Status404NotFound, "Unknown role", $"No {role} metadata is stored for '{gun}'.");
        }

        return TypedResults.Ok(new PagedResponse<VersionItem>(
            [.. result.Items.Select(v => new VersionItem(v.Version, v.Sha256, v.Length, v.CreatedAt))], page, pageSize, result.Total));
    }

    // Walks every repository (in pages) and checks its current files; cost grows with the number of repositories.
    private static async Task<Results<Ok<PagedResponse<ExpiringItem>>, ProblemHttpResult>> GetExpiringAsync(
        IMetadataCatalog catalog, CurrentChainReader repositories, ISigningService signer, TimeProvider time, CancellationToken cancellationToken,
        int days = 30, string? prefix = null, string? renewedBy = null, int page = 1, int pageSize = 50)
    {
        if (days is < 0 or > 36500)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid parameter", "'days' must be between 0 and 36500.");
        }

        if (renewedBy is not (null or "" or ExpiryRenewal.Server or ExpiryRenewal.Owner))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid parameter", "'renewedBy' must be 'server' or 'owner'.");
        }

        if (PagingProblem(page, pageSize) is { } problem)
        {
            return problem;
        }

        var now = time.GetUtcNow();
        var horizon = now.AddDays(days);
        var expiring = new List<ExpiringItem>();
        for (var skip = 0; ; skip += MaxPageSize)
        {
            var batch = await catalog.ListRepositoriesAsync(prefix, skip, MaxPageSize, cancellationToken);
            foreach (var repository in batch.Items)
            {
                var current = await repositories.GetCurrentFilesAsync(repository.Gun, cancellationToken);
                foreach (var (role, file) in current)
                {
                    var expires = SignedEnvelope.Parse(file.Data).Expires.Instant;
                    if (expires <= horizon)
                    {
                        var renewal = await ExpiryRenewal.DescribeAsync(repository.Gun, role, current, signer, cancellationToken);
                        if (string.IsNullOrEmpty(renewedBy) || renewal.RenewedBy == renewedBy)
                        {
                            expiring.Add(new ExpiringItem(
                                repository.Gun, role, file.Version, expires, expires < now, renewal.RenewedBy, renewal.Keys, renewal.Threshold, renewal.Command));
                        }
                    }
                }
            }

            if (batch.Items.Count < MaxPageSize)
            {
                break;
            }
        }

        var ordered = expiring.OrderBy(e => e.Expires).ThenBy(e => e.Gun, StringComparer.Ordinal).ThenBy(e => e.Role, StringComparer.Ordinal).ToList();
        return TypedResults.Ok(new PagedResponse<ExpiringItem>([.. ordered.Skip((page - 1) * pageSize).Take(pageSize)], page, pageSize, ordered.Count));
    }

    private static async Task<Results<Ok<RetentionPreview>, ProblemHttpResult>> GetRetentionPreviewAsync(
        IMetadataStore store, IMetadataRetention retention, IOptions<RetentionOptions> options, TimeProvider timeProvider,
        CancellationToken cancellationToken, string? gun = null)
    {
        if (string.IsNullOrEmpty(gun))
        {
            return Problem(StatusCodes.Status400BadRequest, "Missing parameter", "The query parameter 'gun' is required.");
        }

        if (gun.Length > MaxGunLength)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid parameter", $"'gun' is longer than {MaxGunLength} characters.");
        }

        if ((await store.GetHighestVersionsAsync(gun, cancellationToken)).Count == 0)
        {
            return Problem(StatusCodes.Status404NotFound, "Unknown repository", $"No metadata is stored for '{gun}'.");
        }

        var policy = options.Value.ToPolicy();
        var result = await retention.PruneAsync(gun, policy, timeProvider.GetUtcNow(), options.Value.BatchSize, dryRun: true, cancellationToken);
        if (result.Refused is { } reason)
        {
            return Problem(StatusCodes.Status409Conflict, "Current chain unreadable", $"Retention leaves '{gun}' alone: {reason}");
        }

        return TypedResults.Ok(new RetentionPreview(
            gun, policy.Prunes, result.Removed.Count, result.Removed.Sum(r => (long)r.Bytes),
            [.. result.Removed.Select(r => new RetentionPreviewItem(r.Role, r.Version, r.CreatedAt, r.Bytes))]));
    }

    private static async Task<Results<Ok<PagedResponse<AuditItem>>, ProblemHttpResult>> GetAuditAsync(
        IAuditLog audit,
        CancellationToken cancellationToken,
        string? gun = null,
        string? principal = null,
        string? action = null,
        string? from = null,
        string? to = null,
        int page = 1,
        int pageSize = 50)
    {
        if (PagingProblem(page, pageSize) is { } problem)
        {
            return problem;
        }

        if (!TryParseTime(from, out var since) || !TryParseTime(to, out var until))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid parameter", "'from' and 'to' must be RFC 3339 date-times with an offset, e.g. 2026-12-01T00:00:00Z.");
        }

        if (since is not null && until is not null && since > until)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid parameter", "'from' must not be after 'to'.");
        }

        var query = new AuditQuery(NullIfEmpty(gun), NullIfEmpty(principal), NullIfEmpty(action), since, until);
        var result = await audit.QueryAsync(query, (page - 1) * pageSize, pageSize, cancellationToken);
        return TypedResults.Ok(new PagedResponse<AuditItem>(
            [.. result.Items.Select(r => new AuditItem(
                r.Id, r.Time, r.Entry.Action, r.Entry.Outcome, r.Entry.Actor.Principal, r.Entry.Actor.RemoteAddress, r.Entry.Gun, r.Entry.Files, r.Entry.Actor.RequestId, r.Entry.Detail))],
            page,
            pageSize,
            result.Total));
    }

    // RFC 3339 with an explicit offset (Z or ±hh:mm): a time without one would depend on the server's zone.
    private static bool TryParseTime(string? text, out DateTimeOffset? time)
    {
        time = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (text.Length < 20 || !(text.EndsWith('Z') || text.EndsWith('z') || text[^6] is '+' or '-')
            || !DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var parsed))
        {
            return false;
        }

        time = parsed;
        return true;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static RoleDetail Describe(string role, StoredFile file)
    {
        var envelope = SignedEnvelope.Parse(file.Data);
        IReadOnlyList<KeyDetail> keys = [];
        try
        {
            keys = role switch
            {
                RoleName.Root => KeysOf(RootMetadata.FromEnvelope(envelope)),
                _ when RoleName.IsTargetsRole(role) => KeysOf(TargetsMetadata.FromEnvelope(envelope, role)),
                _ => [],
            };
        }
        catch (TufFormatException)
        {
            // Stored files were valid when accepted; an unreadable key section is shown as no keys.
        }

        return new RoleDetail(role, file.Version, envelope.Expires.Instant, file.Sha256, file.Data.Length, file.CreatedAt, keys);
    }

    private static List<KeyDetail> KeysOf(RootMetadata root) =>
        [.. root.Keys.Select(k => new KeyDetail(k.Key, k.Value.KeyType, [.. root.Roles.Where(r => r.Value.KeyIds.Contains(k.Key)).Select(r => r.Key).Order(StringComparer.Ordinal)]))];

    private static List<KeyDetail> KeysOf(TargetsMetadata targets) =>
        [.. targets.DelegationKeys.Select(k => new KeyDetail(k.Key, k.Value.KeyType, [.. targets.DelegationRoles.Where(r => r.KeyIds.Contains(k.Key)).Select(r => r.Name)]))];

    private static async Task<bool?> ServerManagesSnapshotAsync(IReadOnlyDictionary<string, StoredFile> current, ISigningService signer, CancellationToken cancellationToken)
    {
        if (!current.TryGetValue(RoleName.Root, out var rootFile))
        {
            return null;
        }

        try
        {
            var root = RootMetadata.FromEnvelope(SignedEnvelope.Parse(rootFile.Data));
            return await signer.HoldsAnyAsync(root.Roles.GetValueOrDefault(RoleName.Snapshot)?.KeyIds ?? [], cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null;
        }
    }

    private static int RoleOrder(string role) => role switch
    {
        RoleName.Root => 0,
        RoleName.Targets => 1,
        RoleName.Snapshot => 3,
        RoleName.Timestamp => 4,
        _ => 2,
    };

    internal static ProblemHttpResult? PagingProblem(int page, int pageSize) =>
        page < 1 || pageSize is < 1 or > MaxPageSize
            ? Problem(StatusCodes.Status400BadRequest, "Invalid paging", $"'page' must be at least 1 and 'pageSize' between 1 and {MaxPageSize}.")
            : null;
}
