using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TrustServer.Server.Admin;
using static TrustServer.Server.Admin.ApiProblems;
using TrustServer.Server.Audit;
using TrustServer.Server.Auth;
using TrustServer.Server.Notary;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Query;

namespace TrustServer.Server.Trust;

/// <summary>
/// The trust queries for registries and admission controllers (<c>/api/trust/v1</c>, issue 16): the signers of a
/// name, every signed name, and the admission decision. Answers come from the TUF core's walk of the current chain
/// (<see cref="TrustQueryService"/>); access is <c>pull</c> on the GUN with token auth, as for the Notary reads; errors
/// are RFC 7807 problem details.
/// </summary>
internal static class TrustEndpoints
{
    /// <summary>Largest <c>verify</c> body.</summary>
    public const int MaxVerifyBodyBytes = 64 * 1024;

    private const int MaxPageSize = 500;
    private const int DefaultPageSize = 100;
    private const int MaxListEntries = 100;
    private const int MaxThreshold = 100;
    private const int MaxNameLength = 4096;

    private static readonly string[] PullAction = ["pull"];

    private static readonly JsonSerializerOptions BodyOptions = new(JsonSerializerDefaults.Web) { MaxDepth = 8 };

    public static IEndpointRouteBuilder MapTrustEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/trust/v1").WithTags("Trust");
        group.MapGet("/targets", GetTargetsAsync)
            .WithName("GetTrustedTargets")
            .WithSummary("With name: every role that signs the name (digests, length, custom data, keys, threshold, expiry) and the entry notary lookup picks. Without name: every signed name, paged. Requires pull on the GUN with token auth.")
            .Produces<TargetSigners>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/verify", VerifyAsync)
            .WithName("VerifyTarget")
            .WithSummary("The admission decision for one name: is it signed at the digest, by the required roles, by enough roles, under a root signed by the pinned keys. Requires pull on the GUN with token auth.")
            .Accepts<VerifyRequest>("application/json")
            .Produces<VerifyResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        return endpoints;
    }

    // One operation for both forms (the query string decides); TrustApiDocumentFilter documents both 200 schemas.
    private static async Task<IResult> GetTargetsAsync(
        HttpContext context, TrustQueryService trust, CancellationToken cancellationToken, string? gun = null, string? name = null, string? page = null, string? pageSize = null)
    {
        if (GunProblem(context, gun) is { } gunProblem)
        {
            return gunProblem;
        }

        if (name is not null && (name.Length is 0 or > MaxNameLength || name.Any(char.IsControl)))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid parameter", $"'name' must be 1 to {MaxNameLength} characters without control characters.");
        }

        // Parsed here, not bound: a binding failure would be a 400 without a problem body.
        var pageNumber = 1;
        var size = DefaultPageSize;
        if (name is null && ((page is not null && !int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out pageNumber))
                             || (pageSize is not null && !int.TryParse(pageSize, NumberStyles.None, CultureInfo.InvariantCulture, out size))
                             || pageNumber < 1 || size is < 1 or > MaxPageSize))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid paging", $"'page' must be at least 1 and 'pageSize' between 1 and {MaxPageSize}.");
        }

        if (await AuthorizeAsync(context, gun!) is { } challenge)
        {
            return challenge;
        }

        var view = await trust.GetViewAsync(gun!, AuditTrail.ActorOf(context), cancellationToken);
        if (view is null)
        {
            return UnknownRepository(gun!);
        }

        if (name is not null)
        {
            var signers = view.SignersOf(name);
            if (signers.Count == 0)
            {
                return Problem(StatusCodes.Status404NotFound, "Unknown target", $"No role of '{gun}' signs '{name}'.");
            }

            return TypedResults.Ok(new TargetSigners(gun!, name, view.Lookup(name) is { } pick ? TargetEntry.Of(pick) : null,
                [.. signers.Select(TargetEntry.Of)], TrustReason.Of(view.Broken)));
        }

        var names = view.Names();
        var items = names.Skip((int)Math.Min(int.MaxValue, (long)(pageNumber - 1) * size)).Take(size)
            .Select(n => new SignedTarget(n, view.Lookup(n) is { } pick ? TargetEntry.Of(pick) : null, [.. view.SignersOf(n).Select(TargetEntry.Of)]))
            .ToList();
        return TypedResults.Ok(new SignedTargetsPage(gun!, items, pageNumber, size, names.Count, TrustReason.Of(view.Broken)));
    }

    private static async Task<IResult> VerifyAsync(
        HttpContext context, TrustQueryService trust, CancellationToken cancellationToken)
    {
        if (context.Request.ContentLength > MaxVerifyBodyBytes)
        {
            return TooLarge();
        }

        var body = await ReadBoundedAsync(context.Request.Body, cancellationToken);
        if (body is null)
        {
            return TooLarge();
        }

        VerifyRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<VerifyRequest>(body, BodyOptions);
        }
        catch (JsonException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "Malformed body", $"The body is not a verify request in JSON: {e.Message}");
        }

        if (request is null)
        {
            return Problem(StatusCodes.Status400BadRequest, "Malformed body", "The body must be a JSON object.");
        }

        if (GunProblem(context, request.Gun) is { } gunProblem)
        {
            return gunProblem;
        }

        if (ParseRequest(request, out var problem) is not { } query)
        {
            return problem!;
        }

        if (await AuthorizeAsync(context, request.Gun!) is { } challenge)
        {
            return challenge;
        }

        var view = await trust.GetViewAsync(request.Gun!, AuditTrail.ActorOf(context), cancellationToken);
        if (view is null)
        {
            return UnknownRepository(request.Gun!);
        }

        var verdict = view.Verify(query);
        return TypedResults.Ok(new VerifyResponse(verdict.Verified, verdict.Digest?.ToString(), verdict.SignedBy,
            [.. verdict.Reasons.Select(r => TrustReason.Of(r)!)]));
    }

    private static TrustRequest? ParseRequest(VerifyRequest request, out ProblemHttpResult? problem)
    {
        problem = null;
        if (request.Name is not { Length: > 0 and <= MaxNameLength } name || name.Any(char.IsControl))
        {
            problem = Problem(StatusCodes.Status400BadRequest, "Invalid body", $"'name' is required: 1 to {MaxNameLength} characters without control characters.");
            return null;
        }

        TargetDigest? digest = null;
        if (request.Digest is not null && (digest = TargetDigest.TryParse(request.Digest)) is null)
        {
            problem = Problem(StatusCodes.Status400BadRequest, "Invalid body", "'digest' must be an OCI digest: sha256:<64 lowercase hex> or sha512:<128 lowercase hex>.");
            return null;
        }

        var roles = request.RequiredRoles ?? [];
        if (roles.Count > MaxListEntries || roles.Any(r => r is null || !RoleName.IsTargetsRole(r)))
        {
            problem = Problem(StatusCodes.Status400BadRequest, "Invalid body", $"'requiredRoles' must be at most {MaxListEntries} role names, each 'targets' or a delegation such as 'targets/releases'.");
            return null;
        }

        var rootKeyIds = request.RootKeyIds ?? [];
        if (rootKeyIds.Count > MaxListEntries || rootKeyIds.Any(k => k is null || k.Length != 64 || !k.All(char.IsAsciiHexDigitLower)))
        {
            problem = Problem(StatusCodes.Status400BadRequest, "Invalid body", $"'rootKeyIds' must be at most {MaxListEntries} key IDs, each 64 lowercase hex digits.");
            return null;
        }

        if (request.Threshold is < 1 or > MaxThreshold)
        {
            problem = Problem(StatusCodes.Status400BadRequest, "Invalid body", $"'threshold' must be between 1 and {MaxThreshold}.");
            return null;
        }

        return new TrustRequest(name, digest, roles, request.Threshold ?? 1, rootKeyIds);
    }

    // The GUN rules of the Notary routes (size, control characters, Repositories:GunPrefixes): a bad GUN is a 400,
    // one outside the prefixes is not served (404), as the Notary reads answer.
    private static ProblemHttpResult? GunProblem(HttpContext context, string? gun)
    {
        var limits = context.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
        if (string.IsNullOrEmpty(gun) || Encoding.UTF8.GetByteCount(gun) > limits.MaxGunBytes || gun.Any(char.IsControl))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid parameter", $"'gun' is required: at most {limits.MaxGunBytes} bytes without control characters.");
        }

        var prefixes = context.RequestServices.GetRequiredService<IOptions<RepositoryOptions>>().Value.GunPrefixes;
        return prefixes.Count > 0 && !prefixes.Any(p => gun.StartsWith(p, StringComparison.Ordinal))
            ? UnknownRepository(gun)
            : null;
    }

    // Token auth as for the Notary reads: pull on the GUN, or the challenge as a problem (401, 403 for a token without
    // pull). Open with Auth:Mode=None.
    private static Task<IResult?> AuthorizeAsync(HttpContext context, string gun) =>
        ApiProblems.AuthorizeAsync(context.RequestServices.GetService<NotaryAuthorization>(), context, AccessItem.Required(gun, PullAction));

    // The body, or null when it is longer than MaxVerifyBodyBytes (read no further).
    private static async Task<byte[]?> ReadBoundedAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxVerifyBodyBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        return length > MaxVerifyBodyBytes ? null : buffer[..length];
    }

    private static ProblemHttpResult UnknownRepository(string gun) =>
        Problem(StatusCodes.Status404NotFound, "Unknown repository", $"No trust data is stored for '{gun}'.");

    private static ProblemHttpResult TooLarge() =>
        Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", $"The verify body is limited to {MaxVerifyBodyBytes} bytes.");
}
