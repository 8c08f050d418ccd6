using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using TrustServer.Server.Options;

namespace TrustServer.Server.Auth;

/// <summary>Wiring of <c>Auth:Mode=Token</c> (JwtBearer with the registry token handler) and the built-in issuer.</summary>
internal static class AuthHostingExtensions
{
    public static WebApplicationBuilder AddTokenAuth(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var mode = builder.GetValidatedOptions<AuthOptions>(AuthOptions.Section, o => o
            .Validate(o => o.IsToken || string.Equals(o.Mode, "None", StringComparison.OrdinalIgnoreCase), "Auth:Mode must be None or Token"));
        services.AddValidatedOptions<TokenAuthOptions>(TokenAuthOptions.Section, o => o
            .Validate(
                o => !mode.IsToken || (!string.IsNullOrEmpty(o.Service) && !string.IsNullOrEmpty(o.Issuer) && !string.IsNullOrEmpty(o.RootCertBundle) && (o.AutoRedirect || !string.IsNullOrEmpty(o.Realm))),
                "Auth:Mode=Token needs Auth:Token:Realm, Service, Issuer and RootCertBundle"));
        services.AddSingleton<IValidateOptions<TokenIssuerOptions>, IssuerServicesValidation>();
        services.AddValidatedOptions<TokenIssuerOptions>(TokenIssuerOptions.Section, o => o
            .Validate(o => !o.Enabled || mode.IsToken, "Auth:Issuer:Enabled needs Auth:Mode=Token (the issuer signs for Auth:Token:Issuer and Service)")
            .Validate(o => !o.Enabled || (o.Path.StartsWith('/') && o.TokenLifetimeSeconds > 0), "Auth:Issuer:Path must start with '/' and TokenLifetimeSeconds be positive")
            .Validate(
                o => o.MaxFailedAttempts >= 0 && o.FailedAttemptsWindow > TimeSpan.Zero && o.MaxConcurrentPasswordChecks is null or > 0 && o.PasswordCheckQueueLimit >= 0,
                "Auth:Issuer: MaxFailedAttempts and PasswordCheckQueueLimit must not be negative, FailedAttemptsWindow and MaxConcurrentPasswordChecks must be positive"));

        // Auth:Mode is read (validated) while registering: without Token there is no JwtBearer scheme at all.
        if (!mode.IsToken)
        {
            return builder;
        }

        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<TokenAuthOptions>>().Value;
            return new RegistryTokenValidator(o.Issuer!, o.Service!, RegistryTokenValidator.LoadBundle(o.RootCertBundle!), sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<NotaryAuthorization>();
        services.AddSingleton<TokenIssuer>();
        services.AddSingleton<IssuerThrottle>();
        services.AddAuthentication().AddJwtBearer(RegistryTokenHandler.Scheme, _ => { });
        services.AddOptions<JwtBearerOptions>(RegistryTokenHandler.Scheme).Configure<RegistryTokenValidator>((o, validator) =>
        {
            o.TokenHandlers.Clear();
            o.TokenHandlers.Add(new RegistryTokenHandler(validator));
            o.MapInboundClaims = false;
            o.SaveToken = false;
            o.IncludeErrorDetails = false;
            o.Events = new JwtBearerEvents { OnMessageReceived = RegistryTokenEvents.OnMessageReceived };
        });
        return builder;
    }

    /// <summary>Checks the token configuration now (bad files abort startup) and maps the issuer when enabled.</summary>
    public static WebApplication MapTokenAuth(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.IsToken)
        {
            return app;
        }

        app.Services.ResolveConfigured<RegistryTokenValidator>();
        var issuerOptions = app.Services.GetRequiredService<IOptions<TokenIssuerOptions>>().Value;
        if (issuerOptions.Enabled)
        {
            var issuer = app.Services.ResolveConfigured<TokenIssuer>();
            app.MapGet(issuerOptions.Path, issuer.HandleAsync);
        }

        return app;
    }
}
