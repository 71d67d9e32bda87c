using System.Globalization;
using Cluster.Silo.Hosting;
using Cluster.Silo.Protocol;
using Cluster.Silo.RateLimiting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Cluster.Silo.OpenApi;

/// <summary>
/// The OpenAPI document served at <c>/openapi/v1.json</c> (ASP.NET Core's built-in generator, schemas from the same
/// source-generated JSON contexts the endpoints write with) and the annotations each feature's <c>Map</c> puts on its
/// routes. A route reads, for instance:
/// <code>
/// v1.MapPost("/groups", CreateAsync)
///     .Operation("createGroup", "Groups", "Create a group")
///     .Accepts&lt;CreateGroupRequest&gt;()      // the JSON body: adds 400, 413 and 415 with the error body
///     .Returns&lt;GroupResponse&gt;(201)        // or .ReturnsNothing() for a 204
///     .Errors(403, 404, 409)                // the route's own refusals, each with the ApiError body
///     .RequireAuthorization();              // adds the security scheme, 401 and 429
/// </code>
/// Every <c>/v1</c> route needs <see cref="Operation"/>, a success answer and <see cref="Errors"/> (even empty):
/// <c>OpenApiDocumentTests</c> fails for a route without them. The answers every route shares are added here once:
/// 503 <c>unavailable</c> everywhere, 401/429/503 <c>busy</c> where a password is checked, 429 where a rate limiter
/// sits, 400/413/415 where a JSON body is read. Owns nothing at run time but the document's cache.
/// </summary>
public static class OpenApiExtensions
{
    /// <summary>The name of the security scheme in the document (HTTP Basic <c>accountId.deviceId:password</c>).</summary>
    public const string SecurityScheme = "device";

    /// <summary>Where the document is served.</summary>
    public const string DocumentPath = "/openapi/v1.json";

    /// <summary>Where the interactive reference is served (Development, embedded mode only).</summary>
    public const string ReferencePath = "/scalar";

    private const string Json = "application/json";

    public static WebApplicationBuilder AddClusterOpenApi(this WebApplicationBuilder builder)
    {
        // The generator builds schemas from the HTTP JSON options: give it the contexts the endpoints write with, so
        // names and number handling in the document are what goes on the wire.
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ProtocolJson.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(1, RateLimitJson.Default);
        });
        builder.Services.AddOutputCache();
        builder.Services.AddOpenApi("v1", options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Cluster messaging API",
                    Version = "v1",
                    Description = "End-to-end encrypted multi-device messaging. The contract in prose is docs/protocol.md; "
                        + "the WebSockets (/v1/websocket, /v1/provisioning) are described there, not here.",
                };
                document.Servers?.Clear();
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[SecurityScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "basic",
                    Description = "HTTP Basic with the user name accountId.deviceId (e.g. +15551234567.1) and the device's password.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                // The JSON body, described here rather than with the framework's Accepts metadata: routing enforces that
                // metadata (a bare 415 before authentication and before the handler), while the handlers read and check
                // their bodies themselves (JsonBody: 401 first, then 415/400/413 with the error body).
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<RequestBody>().FirstOrDefault() is { } body)
                {
                    IOpenApiSchema schema;
                    if (body.Type is { } type)
                    {
                        var document = context.Document!;
                        document.Components ??= new OpenApiComponents();
                        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
                        document.Components.Schemas.TryAdd(type.Name, await context.GetOrCreateSchemaAsync(type, null, cancellationToken));
                        schema = new OpenApiSchemaReference(type.Name, document);
                    }
                    else
                    {
                        schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" };
                    }

                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType> { [body.ContentType] = new() { Schema = schema } },
                    };
                }

                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Any())
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement
                    {
                        [new OpenApiSecuritySchemeReference(SecurityScheme, context.Document)] = [],
                    });
                }

                foreach (var query in context.Description.ActionDescriptor.EndpointMetadata.OfType<QueryParameter>())
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = query.Name,
                        In = ParameterLocation.Query,
                        Description = query.Description,
                        Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64" },
                    });
                }

                foreach (var (status, response) in operation.Responses ?? [])
                {
                    if (response is OpenApiResponse concrete && ErrorMeanings.TryGetValue(status, out var meaning))
                    {
                        concrete.Description = meaning;
                    }
                }
            });
        });
        return builder;
    }

    /// <summary>
    /// Serves the document at <see cref="DocumentPath"/> (built once, then cached: it is anonymous), and the interactive
    /// reference at <see cref="ReferencePath"/> in the Development environment of an embedded silo only.
    /// </summary>
    public static WebApplication MapClusterOpenApi(this WebApplication app, ClusterHostOptions options)
    {
        app.UseOutputCache();
        app.MapOpenApi("/openapi/{documentName}.json").CacheOutput(policy => policy.Expire(TimeSpan.FromDays(365)));
        if (app.Environment.IsDevelopment() && options.StorageMode == StorageMode.Sqlite)
        {
            app.MapScalarApiReference(ReferencePath, reference => reference.WithTitle("Cluster messaging API"));
        }

        return app;
    }

    /// <summary>Names the operation (its <c>operationId</c>, which client generators turn into a method name), sums it up and tags it with its feature.</summary>
    public static RouteHandlerBuilder Operation(this RouteHandlerBuilder builder, string operationId, string tag, string summary) =>
        builder.WithName(operationId).WithTags(tag).WithSummary(summary);

    /// <summary>The JSON request body the handler reads (through <see cref="JsonBody"/>): adds its 400, 413 and 415 refusals.</summary>
    public static RouteHandlerBuilder Accepts<TRequest>(this RouteHandlerBuilder builder) where TRequest : notnull =>
        builder.WithMetadata(new RequestBody(typeof(TRequest), Json), new ApiErrorStatuses([StatusCodes.Status400BadRequest, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType]));

    /// <summary>A raw byte body of any content type (the handler reads the bytes as they come; routing does not check the type).</summary>
    public static RouteHandlerBuilder AcceptsBytes(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new RequestBody(null, "application/octet-stream"));

    /// <summary>The JSON answer on success.</summary>
    public static RouteHandlerBuilder Returns<TResponse>(this RouteHandlerBuilder builder, int status = StatusCodes.Status200OK) =>
        builder.Produces<TResponse>(status, Json);

    /// <summary>An answer without a body on success (204 unless told).</summary>
    public static RouteHandlerBuilder ReturnsNothing(this RouteHandlerBuilder builder, int status = StatusCodes.Status204NoContent) =>
        builder.Produces(status);

    /// <summary>An optional integer query parameter the handler reads itself.</summary>
    public static RouteHandlerBuilder QueryInteger(this RouteHandlerBuilder builder, string name, string description) =>
        builder.WithMetadata(new QueryParameter(name, description));

    /// <summary>A refusal whose body is not the plain <see cref="ApiError"/> (e.g. 409 <c>mismatched_devices</c> with its device lists).</summary>
    public static RouteHandlerBuilder Error<TBody>(this RouteHandlerBuilder builder, int status) =>
        builder.Produces<TBody>(status, Json).WithMetadata(new ApiErrorStatuses([status]));

    /// <summary>
    /// The route's own refusal statuses (those the shared answers do not add), each with the <see cref="ApiError"/> body
    /// (429 with <see cref="RateLimitedError"/>). Every <c>/v1</c> route calls it, with no status if it has none.
    /// </summary>
    public static RouteHandlerBuilder Errors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        builder.WithMetadata(new ApiErrorStatuses(statuses));
        builder.Finally(endpoint => AddErrorResponses(endpoint.Metadata));
        return builder;
    }

    /// <summary>
    /// Runs after every convention (the group's and <c>RequireAuthorization</c> included): turns the statuses the route
    /// declared, and those its metadata implies, into responses, leaving a status that has a body of its own alone.
    /// </summary>
    private static void AddErrorResponses(IList<object> metadata)
    {
        var statuses = new SortedSet<int>(metadata.OfType<ApiErrorStatuses>().SelectMany(s => s.Statuses)) { StatusCodes.Status503ServiceUnavailable };
        if (metadata.OfType<IAuthorizeData>().Any())
        {
            statuses.Add(StatusCodes.Status401Unauthorized);
            statuses.Add(StatusCodes.Status429TooManyRequests);
        }

        if (metadata.OfType<EnableRateLimitingAttribute>().Any())
        {
            statuses.Add(StatusCodes.Status429TooManyRequests);
        }

        var declared = metadata.OfType<IProducesResponseTypeMetadata>().Select(m => m.StatusCode).ToHashSet();
        foreach (var status in statuses.Where(s => !declared.Contains(s)))
        {
            var body = status == StatusCodes.Status429TooManyRequests ? typeof(RateLimitedError) : typeof(ApiError);
            metadata.Add(new ProducesResponseTypeMetadata(status, body, [Json]));
        }

        metadata.Add(new ApiErrorStatuses([.. statuses]));
    }

    /// <summary>What each refusal means in general; the <c>error</c> codes per route are in docs/protocol.md.</summary>
    private static readonly Dictionary<string, string> ErrorMeanings = new Dictionary<int, string>
    {
        [StatusCodes.Status400BadRequest] = "A member is missing (missing_field) or malformed (invalid_field, with field naming it), or the body is not JSON (invalid_json).",
        [StatusCodes.Status401Unauthorized] = "Credentials missing or wrong, or the device no longer exists (unauthorized).",
        [StatusCodes.Status403Forbidden] = "A valid device acting outside its rights.",
        [StatusCodes.Status404NotFound] = "An unknown account, device or resource (not_found).",
        [StatusCodes.Status409Conflict] = "The request conflicts with the current state; error says how.",
        [StatusCodes.Status408RequestTimeout] = "The body arrived too slowly, or the upload took longer than allowed.",
        [StatusCodes.Status410Gone] = "Some registration ids are not the devices' current ones (stale_devices).",
        [StatusCodes.Status411LengthRequired] = "The upload has no Content-Length.",
        [StatusCodes.Status413PayloadTooLarge] = "The body, or a member of it, is over its limit.",
        [StatusCodes.Status415UnsupportedMediaType] = "A JSON body without Content-Type: application/json (unsupported_media_type).",
        [StatusCodes.Status416RangeNotSatisfiable] = "The Range lies outside the blob.",
        [StatusCodes.Status422UnprocessableEntity] = "A signature does not verify (bad_signature, with field naming it).",
        [StatusCodes.Status429TooManyRequests] = "A limit was reached: wait Retry-After seconds; limit names it (rate_limited).",
        [StatusCodes.Status503ServiceUnavailable] = "Part of the cluster was briefly unreachable (unavailable) or too many password checks run at once (busy); retry after Retry-After.",
        [StatusCodes.Status507InsufficientStorage] = "The silo has no room for the upload.",
    }.ToDictionary(pair => pair.Key.ToString(CultureInfo.InvariantCulture), pair => pair.Value);
}

/// <summary>
/// The body a route reads itself, for the document only (<see cref="OpenApiExtensions.Accepts{TRequest}"/>,
/// <see cref="OpenApiExtensions.AcceptsBytes"/>): a JSON type, or raw bytes when <paramref name="Type"/> is null.
/// Routing does not enforce it, so authentication answers first and the handler answers for the body itself.
/// </summary>
public sealed record RequestBody(Type? Type, string ContentType);

/// <summary>An optional integer query parameter of a route, for the document (<see cref="OpenApiExtensions.QueryInteger"/>).</summary>
public sealed record QueryParameter(string Name, string Description);

/// <summary>Refusal statuses a route answers with an error body: what <see cref="OpenApiExtensions.Errors"/> records, and what the document must list.</summary>
public sealed record ApiErrorStatuses(IReadOnlyList<int> Statuses);
