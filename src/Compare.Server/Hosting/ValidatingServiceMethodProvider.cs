using System.Reflection;
using System.Text;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace Compare.Server.Hosting;

/// <summary>
/// Binds gRPC services as grpc-dotnet's own binder does (the generated BindService method), but
/// with request deserializers that turn a malformed message (bad wire format, invalid UTF-8 in a
/// string) into INVALID_ARGUMENT. grpc-dotnet reads a unary request before any interceptor runs
/// and reports a deserializer's exception as UNKNOWN, which would blame the server for the
/// caller's bytes.
/// </summary>
internal sealed class ValidatingServiceMethodProvider<TService> : IServiceMethodProvider<TService> where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        if (typeof(TService).GetCustomAttribute<BindServiceMethodAttribute>(inherit: true) is not { } attribute)
        {
            return;
        }

        MethodInfo bind = attribute.BindType.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Single(m => m.Name == attribute.BindMethodName && m.GetParameters() is [var binder, var service]
                && binder.ParameterType == typeof(ServiceBinderBase) && service.ParameterType.IsAssignableFrom(typeof(TService)));
        bind.Invoke(null, [new Binder(context), null]);
    }

    private sealed class Binder(ServiceMethodProviderContext<TService> context) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            (UnaryServerMethod<TService, TRequest, TResponse> invoker, List<object> metadata) =
                Handler<UnaryServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(TRequest), typeof(ServerCallContext));
            context.AddUnaryMethod(Guarded(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            (ClientStreamingServerMethod<TService, TRequest, TResponse> invoker, List<object> metadata) =
                Handler<ClientStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext));
            context.AddClientStreamingMethod(Guarded(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            (ServerStreamingServerMethod<TService, TRequest, TResponse> invoker, List<object> metadata) =
                Handler<ServerStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddServerStreamingMethod(Guarded(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            (DuplexStreamingServerMethod<TService, TRequest, TResponse> invoker, List<object> metadata) =
                Handler<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddDuplexStreamingMethod(Guarded(method), metadata, invoker);
        }

        /// <summary>An open delegate to the service's override of <paramref name="name"/>, and the attributes grpc-dotnet would attach.</summary>
        private static (TDelegate Invoker, List<object> Metadata) Handler<TDelegate>(string name, params Type[] parameters) where TDelegate : Delegate
        {
            MethodInfo method = typeof(TService).GetMethod(name, parameters)
                ?? throw new InvalidOperationException($"{typeof(TService).Name} has no method {name}.");
            return ((TDelegate)Delegate.CreateDelegate(typeof(TDelegate), method),
                [.. typeof(TService).GetCustomAttributes(inherit: true), .. method.GetCustomAttributes(inherit: true)]);
        }

        private static Method<TRequest, TResponse> Guarded<TRequest, TResponse>(Method<TRequest, TResponse> method)
            where TRequest : class where TResponse : class
        {
            Func<DeserializationContext, TRequest> deserialize = method.RequestMarshaller.ContextualDeserializer;
            Marshaller<TRequest> guarded = Marshallers.Create(method.RequestMarshaller.ContextualSerializer, context =>
            {
                try
                {
                    return deserialize(context);
                }
                catch (Exception e) when (e is InvalidProtocolBufferException or DecoderFallbackException)
                {
                    string reason = e is DecoderFallbackException ? "a string field is not valid UTF-8" : e.Message;
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"The request is not a valid {typeof(TRequest).Name}: {reason}."));
                }
            });
            return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, guarded, method.ResponseMarshaller);
        }
    }
}
