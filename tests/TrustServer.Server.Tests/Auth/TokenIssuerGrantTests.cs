using TrustServer.Server.Auth;

namespace TrustServer.Server.Tests.Auth;

/// <summary>The built-in issuer grants requested ∩ configured grants.</summary>
public sealed class TokenIssuerGrantTests
{
    private static readonly IssuerGrant[] TeamPush = [new() { Pattern = "example.com/team/*", Actions = "push,pull" }];

    [Fact]
    public void Grant_RequestedWithinGrants_Granted()
    {
        var access = TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team/a/b:push,pull"]), TeamPush);
        var entry = Assert.Single(access);
        Assert.Equal(["push", "pull"], entry.Actions);
    }

    [Fact]
    public void Grant_StarRequested_GivesOnlyHeldActions()
    {
        var entry = Assert.Single(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team/a:*"]), TeamPush));
        Assert.Equal(["push", "pull"], entry.Actions);
        Assert.DoesNotContain("*", entry.Actions);
    }

    [Fact]
    public void Grant_OtherGunOrType_NothingGranted()
    {
        Assert.Empty(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/teamx/a:pull"]), TeamPush));
        Assert.Empty(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team:pull"]), TeamPush));
        Assert.Empty(TokenIssuer.Grant(Scopes.Parse(["registry:catalog:*"]), TeamPush));
    }

    [Fact]
    public void Grant_PullOnly_PushDropped()
    {
        var entry = Assert.Single(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team/a:push,pull"]), [new IssuerGrant { Pattern = "example.com/*", Actions = "pull" }]));
        Assert.Equal(["pull"], entry.Actions);
    }

    [Fact]
    public void Grant_ServiceWithRepositoryPrefix_MatchesTheGun_KeepsTheRequestedName()
    {
        var registry = new IssuedService("registry.example.com", "registry.example.com", "registry.example.com/");
        IssuerGrant[] grants = [new() { Pattern = "registry.example.com/team/*", Actions = "push,pull" }, new() { Type = "registry", Pattern = "catalog", Actions = "*" }];

        var access = TokenIssuer.Grant(Scopes.Parse(["repository:team/app:push,pull registry:catalog:* repository:other/app:pull"]), grants, registry.GrantName);

        Assert.Equal(2, access.Count);
        Assert.Equal(("repository", "team/app"), (access[0].Type, access[0].Name));
        Assert.Equal(["push", "pull"], access[0].Actions);
        Assert.Equal(("registry", "catalog"), (access[1].Type, access[1].Name));

        // Without the prefix the same grants match nothing of the registry's names.
        Assert.DoesNotContain(TokenIssuer.Grant(Scopes.Parse(["repository:team/app:pull"]), grants), a => a.Type == "repository");
    }

    [Fact]
    public void IssuerServices_OwnServiceAlwaysServed_OthersWithTheirAudienceAndPrefix()
    {
        var (services, errors) = IssuerServices.Build("notary", [new IssuerService { Name = "registry", RepositoryPrefix = "registry.example.com:5000/" }, new IssuerService { Name = "mirror", Audience = "mirror-aud" }]);

        Assert.Empty(errors);
        Assert.Equal(new IssuedService("notary", "notary", string.Empty), services["notary"]);
        Assert.Equal(new IssuedService("registry", "registry", "registry.example.com:5000/"), services["registry"]);
        Assert.Equal("mirror-aud", services["mirror"].Audience);
        Assert.Equal("registry.example.com:5000/team/app", services["registry"].GrantName("repository", "team/app"));
        Assert.Equal("catalog", services["registry"].GrantName("registry", "catalog"));
    }

    [Theory]
    [InlineData("registry", "notary", null, "is Auth:Token:Service, the audience this server accepts")]
    [InlineData("notary", "other", null, "must keep the audience 'notary'")]
    [InlineData("registry", null, "registry.example.com", "must be a repository name prefix ending in '/'")]
    [InlineData("registry", null, "../", "must be a repository name prefix ending in '/'")]
    [InlineData("", null, null, "Name is required")]
    public void IssuerServices_Refused(string name, string? audience, string? prefix, string problem)
    {
        var errors = IssuerServices.Build("notary", [new IssuerService { Name = name, Audience = audience, RepositoryPrefix = prefix }]).Errors;

        Assert.Contains(errors, e => e.Contains(problem, StringComparison.Ordinal));
    }

    [Fact]
    public void IssuerServices_SharedAudience_Refused()
    {
        var errors = IssuerServices.Build("notary", [new IssuerService { Name = "a", Audience = "x" }, new IssuerService { Name = "b", Audience = "x" }]).Errors;

        Assert.Contains("Auth:Issuer:Services: services 'a', 'b' share the audience 'x': each service needs its own", errors);
    }

    [Fact]
    public void Scopes_ParseSpaceSeparatedAndNamesWithPorts()
    {
        var scopes = Scopes.Parse(["repository:localhost:5000/a:pull registry:catalog:*"]);
        Assert.Equal("localhost:5000/a", scopes[0].Name);
        Assert.Equal("catalog", scopes[1].Name);
    }

    [Fact]
    public void HashPassword_IsNotThePassword_AndVerifies()
    {
        var hash = TokenIssuer.HashPassword("s3cret");
        Assert.DoesNotContain("s3cret", hash, StringComparison.Ordinal);
        Assert.NotEqual(TokenIssuer.HashPassword("s3cret"), hash);
    }

    [Theory]
    [InlineData("example.com/team/app")]
    [InlineData("docker.io/library/alpine")]
    [InlineData("localhost:5000/a_b__c-d.e/f")]
    [InlineData("[::1]:5000/x")]
    [InlineData("Registry.Example.COM/x")]
    [InlineData("catalog")]
    public void RepositoryNames_ReferenceGrammar_Valid(string name) => Assert.True(RepositoryNames.IsValid(name));

    [Theory]
    [InlineData("")]
    [InlineData("example.com/team/../secret/x")]
    [InlineData("example.com/./x")]
    [InlineData("example.com//x")]
    [InlineData("example.com/x/")]
    [InlineData("/example.com/x")]
    [InlineData("example.com/%2e%2e/x")]
    [InlineData("example.com/Team/x")]
    [InlineData("example.com/_x")]
    [InlineData("example.com/x_")]
    [InlineData("example.com/x___y")]
    [InlineData("example.com/x\n")]
    [InlineData("-example.com/x")]
    [InlineData("example.com:port/x")]
    [InlineData("example.com/x*")]
    public void RepositoryNames_OutsideTheGrammar_Invalid(string name) => Assert.False(RepositoryNames.IsValid(name));

    [Fact]
    public void RepositoryNames_LongerThan255_Invalid()
    {
        Assert.True(RepositoryNames.IsValid("example.com/" + new string('a', 255 - 12)));
        Assert.False(RepositoryNames.IsValid("example.com/" + new string('a', 256 - 12)));
    }
}
