const N=2e7; let s=0; let t0=performance.now();
for(let i=0;i<N;i++){ s+=Math.tanh((i%2000)*0.003-3);} console.log('tanh', ((performance.now()-t0)/N*1e6).toFixed(2),'ns');
t0=performance.now(); for(let i=0;i<N;i++){ const e=Math.exp(2*((i%2000)*0.003-3)); s+=1-2/(e+1);} console.log('exp-form', ((performance.now()-t0)/N*1e6).toFixed(2),'ns');
t0=performance.now(); for(let i=0;i<N;i++){ const x=(i%2000)*0.003-3; s+=x*(1+x*x*0.1);} console.log('poly', ((performance.now()-t0)/N*1e6).toFixed(2),'ns');
console.log(s!==0)
