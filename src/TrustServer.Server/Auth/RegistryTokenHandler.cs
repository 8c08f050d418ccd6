using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace TrustServer.Server.Auth;

/// <summary>
/// Plugs <see cref="RegistryTokenValidator"/> into the JwtBearer authentication handler: JwtBearer takes the token from
/// the request (see <see cref="RegistryTokenEvents"/>) and builds the principal; the access claim becomes one
/// <see cref="AccessClaimType"/> claim per action (<c>type:name:action</c>).
/// </summary>
internal sealed class RegistryTokenHandler(RegistryTokenValidator validator) : TokenHandler
{
    /// <summary>The authentication scheme name.</summary>
    public const string Scheme = "RegistryToken";

    /// <summary>Claim type of granted access items.</summary>
    public const string AccessClaimType = "access";

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var check = await validator.ValidateAsync(token).ConfigureAwait(false);
        if (check.Token is not { } valid)
        {
            return new TokenValidationResult { IsValid = false, Exception = new SecurityTokenValidationException(check.Error) };
        }

        var identity = new ClaimsIdentity(Scheme, "sub", null);
        if (valid.Subject is { } subject)
        {
            identity.AddClaim(new Claim("sub", subject));
        }

        foreach (var entry in valid.Access)
        {
            foreach (var action in entry.Actions)
            {
                identity.AddClaim(new Claim(AccessClaimType, new AccessItem(entry.Type, entry.Name, action).ToString()));
            }
        }

        return new TokenValidationResult { IsValid = true, ClaimsIdentity = identity, SecurityToken = valid.Jwt };
    }
}

/// <summary>How the token is read from the request (spec auth.md §3 step 1).</summary>
internal static class RegistryTokenEvents
{
    /// <summary>
    /// <c>Authorization</c> split on single spaces must be exactly two parts, the first <c>bearer</c> in any case; anything
    /// else (a <c>Basic</c> header included) counts as no token, so the challenge carries no <c>error</c>.
    /// </summary>
    public static Task OnMessageReceived(MessageReceivedContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var parts = header.Split(' ');
        if (parts.Length == 2 && string.Equals(parts[0], "bearer", StringComparison.OrdinalIgnoreCase) && parts[1].Length > 0)
        {
            context.Token = parts[1];
        }
        else
        {
            context.NoResult();
        }

        return Task.CompletedTask;
    }
}
