using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using TrustServer.Server.Notary;

namespace TrustServer.Server.Auth;

/// <summary>
/// The auth step of notary-server's route pipeline (utils/http.go <c>rootHandler.doAuth</c>): <see cref="NotaryRouter"/>
/// runs it after the GUN-prefix filter and before the handler, <see cref="CatalogAccessFilter"/> before the admin API; on
/// failure it answers the 401 challenge of spec auth.md §4.
/// </summary>
internal sealed partial class NotaryAuthorization(IOptions<TokenAuthOptions> options, ILogger<NotaryAuthorization> logger)
{
    /// <summary>
    /// Checks the request's token against <paramref name="required"/> (see <see cref="AccessItem.Required"/>): null when
    /// it grants every item, the caller then being <see cref="HttpContext.User"/>; else the 401 challenge to answer.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <param name="required">The access items the token must grant.</param>
    public async Task<IResult?> AuthorizeAsync(HttpContext context, IReadOnlyList<AccessItem> required)
    {
        var result = await context.AuthenticateAsync(RegistryTokenHandler.Scheme);
        if (result.None || result.Principal is null && result.Failure is null)
        {
            return Challenge(context, required, null);
        }

        if (!result.Succeeded)
        {
            LogRejected(logger, result.Failure?.Message ?? "invalid token");
            return Challenge(context, required, "invalid_token");
        }

        var granted = result.Principal!.FindAll(RegistryTokenHandler.AccessClaimType)
            .Select(c => AccessItem.Parse(c.Value)).OfType<AccessItem>()
            .Select(i => new AccessEntry(i.Type, i.Name, [i.Action])).ToList();
        var missing = required.Where(r => !AccessEntry.Covers(granted, r)).ToList();
        if (missing.Count > 0)
        {
            LogInsufficient(logger, result.Principal!.FindFirst("sub")?.Value ?? string.Empty, Scopes.Format(missing));
            return Challenge(context, required, "insufficient_scope");
        }

        // The handler's view of the caller (key-creation limits count per token subject).
        context.User = result.Principal!;
        return null;
    }

    private ChallengeResult Challenge(HttpContext context, IReadOnlyList<AccessItem> required, string? error)
    {
        var o = options.Value;
        var realm = o.Realm ?? string.Empty;
        if (o.AutoRedirect)
        {
            realm = $"https://{context.Request.Host}/auth/token";
        }
        else if (realm.StartsWith('/'))
        {
            realm = $"{context.Request.Scheme}://{context.Request.Host}{realm}";
        }

        var header = $"Bearer realm={Scopes.GoQuote(realm)},service={Scopes.GoQuote(o.Service ?? string.Empty)},scope={Scopes.GoQuote(Scopes.Format(required))}";
        if (error is not null)
        {
            header += $",error={Scopes.GoQuote(error)}";
        }

        var detail = new JsonArray([.. required.Select(r => new JsonObject { ["Type"] = r.Type, ["Class"] = "", ["Name"] = r.Name, ["Action"] = r.Action })]);
        return new ChallengeResult(header, error, NotaryErrors.Of(NotaryErrorCode.Unauthorized, detail));
    }

    /// <summary>The 401 challenge in the Notary envelope; the <c>/api</c> routes answer it as a problem (<see cref="Admin.ApiProblems.AuthorizeAsync"/>).</summary>
    internal sealed class ChallengeResult(string header, string? error, NotaryErrorResult body) : IResult
    {
        /// <summary>The <c>WWW-Authenticate</c> value.</summary>
        public string Header => header;

        /// <summary>null (no token), <c>invalid_token</c> or <c>insufficient_scope</c>.</summary>
        public string? Error => error;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.WWWAuthenticate = header;
            return body.ExecuteAsync(httpContext);
        }
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Bearer token rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Token of {Subject} lacks {Scope}")]
    private static partial void LogInsufficient(ILogger logger, string subject, string scope);
}

/// <summary>
/// Endpoint filter of the admin API with token auth: requires <c>registry:catalog:*</c>, like the global changefeed.
/// Otherwise the Notary routes' challenge header with an RFC 7807 body: 401 without a valid token, 403 (RFC 6750
/// <c>insufficient_scope</c>) when the token lacks the scope.
/// </summary>
internal sealed class CatalogAccessFilter(NotaryAuthorization authorization) : IEndpointFilter
{
    private static readonly AccessItem[] Required = [AccessItem.Catalog];

    /// <inheritdoc/>
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        await Admin.ApiProblems.AuthorizeAsync(authorization, context.HttpContext, Required) ?? await next(context);
}
